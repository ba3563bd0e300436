// Guest agent: exec latency and bytes/s through the protocol-2 agent (virtio-serial), against the raw 16550 UART
// the agent used before (ttyS1 through a socket chardev), measured on the same guest in the same run.
//
//   node_modules/.bin/bun scripts/bench/agent.ts [--file-mib 32]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execInGuest, readFileFromGuest, waitForAgent, writeFileInGuest } from "../../src/hv/guest-agent/index.ts";
import { qemuArgv } from "../../src/hv/qemu/argv.ts";
import { median, percentile, printTable } from "./report.ts";

const REPO = join(import.meta.dir, "../..");
const GUEST = process.env.SNAPVISOR_GUEST_DIR ?? join(REPO, ".cache/guest");
const { values } = parseArgs({ options: { "file-mib": { type: "string", default: "32" } } });
const FILE_BYTES = Number(values["file-mib"]) * 1024 * 1024;
/** What goes through the UART each way: enough for a stable rate, small enough to finish in seconds. */
const SERIAL_BYTES = 64 * 1024;
const EXEC_RUNS = 50;

const dir = mkdtempSync(join(tmpdir(), "sv-bench-agent-"));
const manifest = (await Bun.file(join(GUEST, "manifest.json")).json()) as { cmdline: string };
const config = {
  kernel: join(GUEST, "vmlinuz"),
  initrd: join(GUEST, "initrd.img"),
  cmdline: manifest.cmdline,
  vcpus: 1,
  memoryBytes: 256 * 1024 * 1024,
  disks: [],
  guestAgent: true,
  agentChannel: "virtio-serial",
};
const rawSocket = join(dir, "raw.sock");
await Bun.write(join(dir, "logs/.keep"), "");
const argv = [...qemuArgv(config as never, dir, { machine: "pc-q35-7.2", accel: "tcg" }), "-chardev", `socket,id=raw,path=${rawSocket},server=on,wait=off`, "-serial", "chardev:raw"];
const qemu = Bun.spawn(["qemu-system-x86_64", ...argv], { stdout: "ignore", stderr: "inherit" });
const agent = join(dir, "agent.sock");

try {
  await waitForAgent(agent, { timeoutMs: 60_000 });

  // Exec latency: one `true` at a time, then 8 one-second commands at once.
  const latencies: number[] = [];
  for (let i = 0; i < EXEC_RUNS; i++) {
    const t = performance.now();
    await execInGuest(agent, "true");
    latencies.push(performance.now() - t);
  }
  let t = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => execInGuest(agent, "sleep 1")));
  const concurrentS = (performance.now() - t) / 1000;

  // Agent file copy, both ways.
  const content = new Uint8Array(FILE_BYTES);
  for (let at = 0; at < content.length; at += 65536) crypto.getRandomValues(content.subarray(at, at + 65536));
  t = performance.now();
  await writeFileInGuest(agent, "/run/bench.bin", (async function* () { yield content; })(), { maxBytes: Infinity, timeoutMs: 600_000 });
  const agentIn = FILE_BYTES / ((performance.now() - t) / 1000);
  t = performance.now();
  const file = await readFileFromGuest(agent, "/run/bench.bin", { maxBytes: Infinity, timeoutMs: 600_000 });
  let got = 0;
  for await (const chunk of file.chunks) got += chunk.length;
  const agentOut = got / ((performance.now() - t) / 1000);

  // Raw UART: the guest reads (or writes) SERIAL_BYTES on ttyS1 while the host writes (or reads) its socket.
  const serialIn = await rawSerial("in");
  const serialOut = await rawSerial("out");
  // The old path's shape: a shell loop on the UART that runs `sh -c true` per request line and answers (last: it
  // keeps the UART).
  const uartLatencies = await uartShellLoop();

  const rate = (bps: number) => `${(bps / 1e6).toFixed(2)} MB/s`;
  printTable("Guest agent (TCG guest, 1 vCPU)", ["measure", "agent v2 (virtio-serial)", "raw UART ttyS1 (old transport)", "ratio"], [
    [
      "exec `true` latency p50 / p99",
      `${median(latencies).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
      `${median(uartLatencies).toFixed(1)} / ${percentile(uartLatencies, 99).toFixed(1)} ms (sh loop)`,
      `${(median(uartLatencies) / median(latencies)).toFixed(2)}x`,
    ],
    ["8 concurrent `sleep 1`", `${concurrentS.toFixed(2)} s`, "8 s+ (one at a time)", `${(8 / concurrentS).toFixed(1)}x`],
    ["host -> guest", rate(agentIn), rate(serialIn), `${(agentIn / serialIn).toFixed(0)}x`],
    ["guest -> host", rate(agentOut), rate(serialOut), `${(agentOut / serialOut).toFixed(0)}x`],
  ]);
} finally {
  qemu.kill("SIGKILL");
  await qemu.exited;
  rmSync(dir, { recursive: true, force: true });
}

async function uartShellLoop(): Promise<number[]> {
  let buffered = "";
  let waiter: (() => void) | undefined;
  const socket = await Bun.connect({
    unix: rawSocket,
    socket: {
      data: (_s, chunk) => {
        buffered += chunk.toString();
        if (buffered.includes("ok\n")) waiter?.();
      },
    },
  });
  const loop = "stty -F /dev/ttyS1 raw -echo; while IFS= read -r l; do sh -c true; echo ok; done <>/dev/ttyS1 >&0";
  await execInGuest(agent, `setsid sh -c '${loop}' </dev/null >/dev/null 2>&1 &`);
  await Bun.sleep(300);
  const times: number[] = [];
  for (let i = 0; i < EXEC_RUNS; i++) {
    buffered = "";
    const answered = new Promise<void>((resolve) => (waiter = resolve));
    const t = performance.now();
    socket.write("x\n");
    await Promise.race([answered, Bun.sleep(5_000).then(() => Promise.reject(new Error("the UART loop did not answer")))]);
    times.push(performance.now() - t);
  }
  socket.end();
  return times;
}

async function rawSerial(direction: "in" | "out"): Promise<number> {
  let received = 0;
  let done!: () => void;
  const allOut = new Promise<void>((resolve) => (done = resolve));
  const socket = await Bun.connect({
    unix: rawSocket,
    socket: {
      data: (_s, chunk) => {
        received += chunk.length;
        if (received >= SERIAL_BYTES) done();
      },
    },
  });
  await execInGuest(agent, "stty -F /dev/ttyS1 raw -echo");
  const started = performance.now();
  if (direction === "in") {
    const reading = execInGuest(agent, `head -c ${SERIAL_BYTES} /dev/ttyS1 | wc -c`, { timeoutMs: 300_000 });
    await Bun.sleep(200); // the reader is open before the bytes arrive
    const bytes = new Uint8Array(SERIAL_BYTES).fill(0x61);
    for (let at = 0; at < bytes.length; ) at += socket.write(bytes.subarray(at)) || (await Bun.sleep(5), 0);
    const out = await reading;
    if (Number(out.stdout.trim()) !== SERIAL_BYTES) throw new Error(`ttyS1 read ${out.stdout.trim()} bytes (exit ${out.exitCode}: ${out.stderr})`);
  } else {
    await execInGuest(agent, `head -c ${SERIAL_BYTES} /dev/zero >/dev/ttyS1`, { timeoutMs: 300_000 });
    await allOut;
  }
  socket.end();
  return SERIAL_BYTES / ((performance.now() - started) / 1000);
}
