// The first connections after each wake reach the guest on slirp's first SYN. A guest's server that closed
// connections just before a standby holds them in TIME_WAIT across it, keyed by the host's source ports of the
// user-mode forward; the host reuses those ports, and the restored QEMU's slirp starts its sequence numbers afresh,
// below where those connections ended: its SYN met the TIME_WAIT and was sent again only after slirp's initial
// retransmission timeout (6 s). Each cycle here closes connections from host ports, sends the guest to Standby,
// restores it and connects again from those very ports: the agent ended those TIME_WAITs right after the restore,
// so each is answered on its first SYN, as are new connections. Proof from the wire, not from timing: every QEMU of the run records
// its user-mode netdev (filter-dump, added by a wrapper around the QEMU binary), and no SYN toward the guest may
// appear twice in a recording.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import type { TestService } from "../harness.ts";
import { withGuestService } from "./guest.ts";
import { bootSite, HTTP_PORT } from "./ingress-guest.ts";
import { recordNetdevs, synsTo } from "./netdev-recording.ts";

const CYCLES = 20;
const PORTS_PER_CYCLE = 3;
const wire = recordNetdevs();
let svc: TestService;
withGuestService((s) => (svc = s), { hypervisors: wire.hypervisors });

/** One GET of the page through the forward from host port `localPort` (0: any the kernel picks), read until the guest closes. */
function getFrom(forward: number, localPort: number): Promise<{ port: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: forward, localAddress: "127.0.0.1", localPort });
    let answer = "";
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from port ${localPort}`)), 30_000);
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\nHost: guest\r\n\r\n"));
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("end", () => {
      clearTimeout(timer);
      resolve({ port: socket.localPort!, answer });
      socket.destroy();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe("first connections after a wake (user mode)", () => {
  test(`${CYCLES} standby/restore cycles: connections from the host ports of those closed before each are answered, slirp never sends a SYN twice`, async () => {
    try {
      const guest = await bootSite(svc, "hs");
      const forward = (await svc.call("GET", `/instances/${guest.id}`)).body.network.port_forwards.find((f: any) => f.guest_port === HTTP_PORT).host;
      const forwardPort = Number(forward.split(":")[1]);
      for (let i = 0; i < CYCLES; i++) {
        const before = await Promise.all(Array.from({ length: PORTS_PER_CYCLE }, () => getFrom(forwardPort, 0)));
        expect((await svc.call("POST", "/instances/hs/standby", {})).status).toBe(200);
        expect((await svc.call("POST", "/instances/hs/restore", {})).status).toBe(200);
        const reused = await Promise.all(before.map((b) => getFrom(forwardPort, b.port)));
        const after = await Promise.all(before.map(() => getFrom(forwardPort, 0)));
        for (const a of [...reused, ...after]) expect(a.answer).toEndWith("\r\n\r\nhello\n");
      }
      expect((await svc.call("POST", "/instances/hs/stop", {})).status).toBe(200);
      // The boot and one QEMU per restore recorded, each connection's SYN among them.
      expect(wire.files().length).toBe(CYCLES + 1);
      expect(wire.files().flatMap((f) => synsTo(f, HTTP_PORT)).length).toBeGreaterThanOrEqual(CYCLES * PORTS_PER_CYCLE * 3);
      expect(wire.synsSentTwice(HTTP_PORT)).toEqual([]);
    } finally {
      wire.remove();
    }
  }, 400_000);
});
