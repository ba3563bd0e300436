// Wake on request through the ingress (user mode, loopback only), against the bare operation in the same run:
//   * wake-to-first-byte: a Standby guest running busybox httpd, one GET through the ingress, until its first body
//     byte; vs the bare restore: POST /restore, then GET the guest's forward directly until it answers;
//   * warm proxy overhead: sequential GETs of a running guest through the ingress vs to its forward directly
//     (target: p50 overhead <= 0.3 ms; the ratio printed is the measured overhead over that target).
//   bun scripts/bench/wake.ts [--cycles 5] [--requests 1000]
import { parseArgs } from "node:util";
import { benchService } from "./bench-service.ts";
import { percentile, printTable } from "./report.ts";

const { values } = parseArgs({ options: { cycles: { type: "string", default: "5" }, requests: { type: "string", default: "1000" } } });
const CYCLES = Number(values.cycles);
const REQUESTS = Number(values.requests);
const GUEST_PORT = 8080;
const HOST = "bench.wake.test";
const REQUEST_TIMEOUT_MS = 60_000;
/** The bare restore polls the forward this often, this many times at most. */
const POLL_MS = 5;
const POLL_TRIES = 12_000;
/** The target for the warm proxy's p50 overhead. */
const OVERHEAD_TARGET_MS = 0.3;

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const ingressPort = freePort();
const svc = await benchService({ ingress: { listen: [`127.0.0.1:${ingressPort}`] } });
const { call } = svc;

/** Milliseconds until the first body byte of one GET. */
async function firstByteMs(url: string, host?: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { headers: host ? { host } : {}, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const reader = res.body!.getReader();
  await reader.read();
  const ms = performance.now() - started;
  await reader.cancel();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return ms;
}

try {
  const created = await call("POST", "/instances", { name: "bench", size: "256MB", overlay_size: "128MB", network: { port_forwards: [{ guest_port: GUEST_PORT }] } });
  const started = await call("POST", `/instances/${created.id}/start`);
  const direct = `http://${started.network.port_forwards[0].host}/`;
  const site = await call("POST", "/instances/bench/exec", { command: `mkdir -p /www && echo hello >/www/index.html && httpd -p ${GUEST_PORT} -h /www` });
  if (site.exit_code !== 0) throw new Error(`httpd: ${site.stderr}`);
  await call("POST", "/ingresses", { name: "bench", rules: [{ match: { hostname: HOST, port: ingressPort }, target: { instance: "bench", port: GUEST_PORT } }] });
  const viaIngress = `http://127.0.0.1:${ingressPort}/`;
  await firstByteMs(viaIngress, HOST);

  const wake: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    await call("POST", "/instances/bench/standby", {});
    wake.push(await firstByteMs(viaIngress, HOST));
    await call("POST", "/instances/bench/standby", {});
    const t0 = performance.now();
    await call("POST", "/instances/bench/restore", {});
    for (let tries = 0; ; tries++) {
      try {
        await firstByteMs(direct);
        break;
      } catch (err) {
        if (tries >= POLL_TRIES) throw err;
        await Bun.sleep(POLL_MS);
      }
    }
    bare.push(performance.now() - t0);
  }

  // The two paths take turns, request by request, so both meet the same load on the machine (other processes, the
  // guest's own timers); req/s counts each path's own time.
  const directWarm = { ms: [] as number[], perSec: 0 };
  const ingressWarm = { ms: [] as number[], perSec: 0 };
  for (let i = 0; i < REQUESTS; i++) {
    directWarm.ms.push(await firstByteMs(direct));
    ingressWarm.ms.push(await firstByteMs(viaIngress, HOST));
  }
  const sum = (ms: number[]) => ms.reduce((a, b) => a + b, 0);
  directWarm.perSec = REQUESTS / (sum(directWarm.ms) / 1000);
  ingressWarm.perSec = REQUESTS / (sum(ingressWarm.ms) / 1000);

  const f = (n: number) => n.toFixed(2);
  printTable(`wake to first byte (${CYCLES} cycles, ms)`, ["path", "p50", "p95"], [
    ["through the ingress (Standby -> answered)", f(percentile(wake, 50)), f(percentile(wake, 95))],
    ["bare restore + poll the forward", f(percentile(bare, 50)), f(percentile(bare, 95))],
    ["ratio ingress / bare (p50)", f(percentile(wake, 50) / percentile(bare, 50)), ""],
  ]);
  printTable(`warm guest, ${REQUESTS} sequential GETs`, ["path", "req/s", "p50 ms", "p99 ms"], [
    ["direct to the forward", f(directWarm.perSec), f(percentile(directWarm.ms, 50)), f(percentile(directWarm.ms, 99))],
    ["through the ingress", f(ingressWarm.perSec), f(percentile(ingressWarm.ms, 50)), f(percentile(ingressWarm.ms, 99))],
    ["p50 overhead", "", f(percentile(ingressWarm.ms, 50) - percentile(directWarm.ms, 50)), ""],
    ["ratio ingress / direct", f(ingressWarm.perSec / directWarm.perSec), f(percentile(ingressWarm.ms, 50) / percentile(directWarm.ms, 50)), f(percentile(ingressWarm.ms, 99) / percentile(directWarm.ms, 99))],
    [`p50 overhead / target ${OVERHEAD_TARGET_MS} ms`, "", f((percentile(ingressWarm.ms, 50) - percentile(directWarm.ms, 50)) / OVERHEAD_TARGET_MS), ""],
  ]);
} finally {
  await svc.close();
}
