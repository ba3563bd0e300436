// Per-request latency of the Unix-socket HTTP client (src/hv/unix-http.ts) against a Bun.serve fake VMM in another
// process: GET with a JSON answer (CH vm.info) and PUT with a JSON body and a 204 (CH vm.create), sequential
// over one keep-alive connection, after a warm-up. Baseline: bare `fetch(url, { unix })` in the same run, so the
// ratio is the client's own overhead (timeout signal, error mapping, JSON).
//
//   bun scripts/bench/unix-http.ts [requests=1000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnixHttpClient } from "../../src/hv/unix-http.ts";

const REQUESTS = Number(process.argv[2] ?? 1_000);
const WARMUP = 50;
const SERVER_READY_TIMEOUT_MS = 5_000;
const VM_CONFIG = {
  payload: { kernel: "/img/vmlinux", cmdline: "console=ttyS0 panic=-1", initramfs: "/img/initrd.img" },
  cpus: { boot_vcpus: 2, max_vcpus: 2 },
  memory: { size: 536870912 },
  disks: [{ path: "/data/guests/a/disk.raw", readonly: false, image_type: "Raw" }],
  serial: { mode: "File", file: "/data/guests/a/logs/serial.log" },
  console: { mode: "Off" },
};

const SERVER = `
Bun.serve({
  unix: process.argv[1],
  async fetch(req) {
    await req.text();
    if (req.method === "GET") return Response.json({ config: ${JSON.stringify(VM_CONFIG)}, state: "Running", memory_actual_size: 536870912 });
    return new Response(null, { status: 204 });
  },
});
console.log("ready");
`;

const dir = mkdtempSync(join(tmpdir(), "sv-bench-uh-"));
const socket = join(dir, "api.sock");
const server = Bun.spawn([process.execPath, "-e", SERVER, socket], { stdout: "pipe", stderr: "inherit" });
try {
  await waitReady();
  const client = new UnixHttpClient(socket, "http://localhost/api/v1");
  const rows = [
    row("bare fetch", "GET vm.info (200 JSON)", () => fetch("http://localhost/api/v1/vm.info", { unix: socket }).then((r) => r.json())),
    row("UnixHttpClient", "GET vm.info (200 JSON)", () => client.request("GET", "/vm.info")),
    row("bare fetch", "PUT vm.create (204)", () =>
      fetch("http://localhost/api/v1/vm.create", { unix: socket, method: "PUT", body: JSON.stringify(VM_CONFIG), headers: { "content-type": "application/json" } }).then((r) => r.text()),
    ),
    row("UnixHttpClient", "PUT vm.create (204)", () => client.request("PUT", "/vm.create", VM_CONFIG)),
    row("UnixHttpClient", "PUT vm.pause (204, no body)", () => client.request("PUT", "/vm.pause")),
  ];
  const results = [];
  for (const r of rows) results.push({ ...r, ...(await measure(r.run)) });
  console.log(`${REQUESTS} sequential requests each after ${WARMUP} warm-up, server in another process (Bun.serve unix), ms per request`);
  console.log(["client", "request", "mean", "p50", "p90", "p99", "max", "p50 vs bare"].join("\t"));
  for (const r of results) {
    const bare = results.find((b) => b.client === "bare fetch" && b.request === r.request);
    const ratio = bare ? (r.p50 / bare.p50).toFixed(2) : "-";
    console.log([r.client, r.request, ...[r.mean, r.p50, r.p90, r.p99, r.max].map((v) => v.toFixed(3)), ratio].join("\t"));
  }
} finally {
  server.kill();
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}

function row(client: string, request: string, run: () => Promise<unknown>) {
  return { client, request, run };
}

async function measure(run: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { mean: times.reduce((a, b) => a + b, 0) / times.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: times[times.length - 1]! };
}

async function waitReady(): Promise<void> {
  const reader = server.stdout.getReader();
  const timer = setTimeout(() => server.kill(), SERVER_READY_TIMEOUT_MS);
  const { value } = await reader.read();
  clearTimeout(timer);
  reader.releaseLock();
  if (!value || !new TextDecoder().decode(value).includes("ready")) throw new Error("bench server did not start");
}
