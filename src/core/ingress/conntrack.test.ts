import { describe, expect, test } from "bun:test";
import { directActivity, parseConntrackLine, type ConntrackEntry } from "./conntrack.ts";

const LINES = [
  "ipv4     2 tcp      6 431990 ESTABLISHED src=192.0.2.7 dst=10.88.0.5 sport=40000 dport=8080 src=10.88.0.5 dst=192.0.2.7 sport=8080 dport=40000 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 100 TIME_WAIT src=192.0.2.8 dst=10.88.0.5 sport=40001 dport=22 src=10.88.0.5 dst=192.0.2.8 sport=22 dport=40001 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 400000 ESTABLISHED src=10.88.0.1 dst=10.88.0.5 sport=50000 dport=8080 src=10.88.0.5 dst=10.88.0.1 sport=8080 dport=50000 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 udp      17 25 src=192.0.2.9 dst=10.88.0.5 sport=5353 dport=53 [UNREPLIED] src=10.88.0.5 dst=192.0.2.9 sport=53 dport=5353 mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 431999 ESTABLISHED src=10.88.0.5 dst=192.0.2.1 sport=41000 dport=443 src=192.0.2.1 dst=10.88.0.5 sport=443 dport=41000 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 icmp     1 29 src=192.0.2.7 dst=10.88.0.5 type=8 code=0 id=1 src=10.88.0.5 dst=192.0.2.7 type=0 code=0 id=1 mark=0 zone=0 use=2",
  "garbage",
];
const TIMEOUTS: Record<string, number> = { ESTABLISHED: 432000, TIME_WAIT: 120 };
const timeoutOf = (e: ConntrackEntry) => (e.protocol === "tcp" ? TIMEOUTS[e.state!] : 30);
const entries = LINES.flatMap((l) => parseConntrackLine(l) ?? []);
const now = new Date("2026-01-01T00:00:00Z");
const guest = { guestIp: "10.88.0.5", hostIp: "10.88.0.1" };
const enabled = { enabled: true, idleTimeoutMs: 60_000, ignoreSourceCidrs: [] as string[], ignoreDestinationPorts: [] as number[] };

describe("conntrack", () => {
  test("the original direction's tuple, state and time left are read; other protocols and junk are skipped", () => {
    expect(entries.length).toBe(5);
    expect(entries[0]).toEqual({ protocol: "tcp", remainingS: 431990, state: "ESTABLISHED", src: "192.0.2.7", dst: "10.88.0.5", dport: 8080, assured: true });
    expect(entries[3]).toEqual({ protocol: "udp", remainingS: 25, state: undefined, src: "192.0.2.9", dst: "10.88.0.5", dport: 53, assured: false });
  });

  test("inbound connections count; the host's own and the guest's outbound ones do not count as open", () => {
    const seen = directActivity(entries, { ...guest, policy: enabled }, now, timeoutOf);
    expect(seen.open).toBe(1);
    // The freshest packet: the UDP one 5 s ago (30 - 25), before the ESTABLISHED one 10 s ago.
    expect(seen.lastAt).toEqual(new Date(now.getTime() - 5_000));
  });

  test("ignored sources and ports are left out", () => {
    const policy = { ...enabled, ignoreSourceCidrs: ["192.0.2.0/29"], ignoreDestinationPorts: [53] };
    const seen = directActivity(entries, { ...guest, policy }, now, timeoutOf);
    expect(seen.open).toBe(0);
    // Left: the TIME_WAIT from 192.0.2.8 (20 s ago) and the host's connection (32 000 s ago).
    expect(seen.lastAt).toEqual(new Date(now.getTime() - 20_000));
    expect(directActivity(entries, { guestIp: "10.88.0.9", hostIp: "10.88.0.1", policy: enabled }, now, timeoutOf)).toEqual({ open: 0, lastAt: undefined });
  });
});
