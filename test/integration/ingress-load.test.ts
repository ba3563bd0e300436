// Bounded load through the ingress with auto-standby cycling the guest (user mode, loopback only): 20 concurrent
// clients, 2 000 requests in total, idle_timeout 300ms. In bursts the guest goes to Standby between bursts and
// the next burst wakes it; in the jittered rounds all clients pause together for about the idle timeout, so
// requests keep racing standbys. Every request must be answered by the guest with the right body: zero failed or
// lost, and the guest ran every POST exactly once (its CGI logs each id). The number of wake cycles, the latencies,
// the requests slower than a second, the guest's TCP counters and the SYNs slirp had to send again (from a
// recording of each QEMU's netdev, netdev-recording.ts) are printed.
import { afterAll, describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { exec, withGuestService } from "./guest.ts";
import { silentLogger } from "../../src/core/service/logger.ts";
import { addIngress, bootSite, countedRequests, freeLoopbackPort, HTTP_PORT, viaIngress, waitForState } from "./ingress-guest.ts";
import { recordNetdevs } from "./netdev-recording.ts";

const HOST = "load.ingress.test";
const CLIENTS = 20;
const BURSTS = 8;
const PER_CLIENT_PER_BURST = 10; // 8 bursts x 20 clients x 10 = 1 600
const JITTERED_ROUNDS = 20; // 20 rounds x 20 clients = 400
const IDLE_MS = 300;
const INGRESS_PORT = freeLoopbackPort();
let svc: TestService;
const warnings: string[] = [];
const logger = { ...silentLogger, warn: (msg: string, fields?: object) => void warnings.push(`${msg} ${JSON.stringify(fields)}`) };
const wire = recordNetdevs();
afterAll(() => wire.remove());
withGuestService((s) => (svc = s), {
  hypervisors: wire.hypervisors,
  ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`], upstreamHeaderTimeoutMs: 10_000 },
  autoStandby: { tickMs: 50, maxConcurrent: 4 },
  logger,
});

interface Tally {
  ok: number;
  failed: string[];
  latenciesMs: number[];
}

/** Request `n`: a GET of the page or a POST echoed by the counting CGI, each checked against what it must answer. */
async function one(n: number, tally: Tally): Promise<void> {
  const started = performance.now();
  try {
    const post = n % 2 === 1;
    const expected = post ? `request-${n}-${"x".repeat(n % 97)}` : "hello\n";
    const res = await viaIngress(INGRESS_PORT, HOST, post ? `/cgi-bin/count?id=${n}` : "/", post ? { method: "POST", body: expected } : {});
    const body = await res.text();
    if (res.status !== 200 || body !== expected) tally.failed.push(`#${n}: ${res.status} ${body.slice(0, 120)}`);
    else tally.ok++;
  } catch (err) {
    tally.failed.push(`#${n}: ${err}`);
  }
  tally.latenciesMs.push(performance.now() - started);
}

/** A small deterministic generator for the pauses (the run is the same every time). */
function pauses(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return IDLE_MS * (0.7 + (x / 2 ** 31) * 1.3);
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** The guest kernel's TCP counters that tell a dropped handshake: its listen queues' overflows, handshakes it
 * answered again (SYN-ACK retransmissions), challenge ACKs (a SYN meeting an old connection) and resets sent. */
const GUEST_TCP_COUNTERS = ["ListenOverflows", "TCPSynRetrans", "TCPChallengeACK", "TCPTimeouts", "OutRsts", "EstabResets"];

async function guestTcpCounters(): Promise<Record<string, number>> {
  const lines = (await exec(svc, "load", "grep -h -E '^(TcpExt|Tcp):' /proc/net/netstat /proc/net/snmp")).stdout.split("\n");
  const counters: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [names, values] = [lines[i]!.split(/\s+/), lines[i + 1]!.split(/\s+/)];
    names.forEach((name, j) => GUEST_TCP_COUNTERS.includes(name) && (counters[name] = Number(values[j])));
  }
  return counters;
}

describe("ingress under load with auto-standby cycling", () => {
  test("20 clients, 2 000 requests, repeated standby/wake: zero failed or lost, every body correct", async () => {
    await bootSite(svc, "load", { auto_standby: { enabled: true, idle_timeout: `${IDLE_MS}ms` } });
    await addIngress(svc, "load", INGRESS_PORT, HOST);
    const tally: Tally = { ok: 0, failed: [], latenciesMs: [] };
    const started = performance.now();
    let next = 0;

    for (let burst = 0; burst < BURSTS; burst++) {
      await waitForState(svc, "load", "Standby");
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          for (let i = 0; i < PER_CLIENT_PER_BURST; i++) await one(next++, tally);
        }),
      );
    }
    // Rounds: all clients pause together for about the idle timeout, so a standby often starts just as the
    // round's requests arrive.
    const pause = pauses(7);
    for (let round = 0; round < JITTERED_ROUNDS; round++) {
      const wait = pause();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          await Bun.sleep(wait + c);
          await one(next++, tally);
        }),
      );
    }

    const seconds = (performance.now() - started) / 1000;
    const wakes = (await svc.sv.core.metrics.ingressWakes.get()).values.find((v) => v.labels.result === "success")?.value ?? 0;
    const sorted = [...tally.latenciesMs].sort((a, b) => a - b);
    const { standbys, cancelled } = svc.sv.core.autoStandby.counts;
    console.log(
      `load: ${next} requests, ${tally.ok} ok, ${tally.failed.length} failed in ${seconds.toFixed(1)} s; ` +
        `wake cycles ${wakes} (auto-standbys ${standbys}, called off at the last check ${cancelled}); ` +
        `latency p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; ` +
        `slower than 1 s: ${sorted.filter((ms) => ms > 1000).length}; SYNs slirp sent again ${wire.synsSentTwice(HTTP_PORT).length}; guest TCP counters ${JSON.stringify(await guestTcpCounters())}`,
    );
    if (warnings.length > 0) console.log(`proxy warnings:\n${warnings.join("\n")}`);
    expect(tally.failed).toEqual([]);
    // Every POST ran in the guest exactly once: none lost, none sent twice.
    const ran = await countedRequests(svc, "load");
    const posts = Array.from({ length: next }, (_, n) => n).filter((n) => n % 2 === 1);
    expect(posts.filter((n) => ran.get(`POST id=${n}`) !== 1).map((n) => `#${n} ran ${ran.get(`POST id=${n}`) ?? 0} times`)).toEqual([]);
    expect(ran.size).toBe(posts.length);
    expect(tally.ok).toBe(BURSTS * CLIENTS * PER_CLIENT_PER_BURST + CLIENTS * JITTERED_ROUNDS);
    expect(wakes).toBeGreaterThanOrEqual(BURSTS);
    expect(standbys).toBeGreaterThanOrEqual(BURSTS);
  }, 420_000); // 2 000 requests through ~20 wakes under TCG take 2-4 min on a 2-core machine
});
