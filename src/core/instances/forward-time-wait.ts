// A restored user-mode guest may still hold connections in TIME_WAIT that its server closed just before the standby
// (its clock stood still since). They are keyed by the host's source port of the forward (the guest sees
// 10.0.2.2:<host port>), which the host reuses meanwhile, and the restored QEMU's slirp starts its initial sequence
// numbers afresh, below where those connections ended. A SYN reusing such a port meets the TIME_WAIT, which answers
// with a bare ACK; slirp resets it and sends its SYN again only after its initial retransmission timeout, 6 s
// (issue #15, seen in a pcap of the netdev). So after a restore each such port is reserved on the host until the
// guest's TIME_WAIT has run out: a loopback listener that answers nothing holds it, and the kernel hands no port
// bound so to a connect. (Using the port once instead, to let slirp's reset end the TIME_WAIT, leaves slirp holding
// that connection half-open, and the next one from the port meets it.)
import { execInGuest } from "../../hv/guest-agent/index.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { USER_MODE_GUEST } from "../network/leases.ts";
import { networkView } from "../network/network-view.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";
import { guestDir } from "./view.ts";

const AGENT_TIMEOUT_MS = 5_000;
/** Linux's TIME_WAIT length (TCP_TIMEWAIT_LEN), counted from the restore: the guest's clock runs again from there. */
const TIME_WAIT_MS = 60_000;
/** Ports reserved at most per restore (a guest that served a burst holds hundreds). */
const MAX_RESERVED = 2_048;

/** `ip` as /proc/net/tcp prints it: the address's bytes in host (little-endian) order, in hex. */
const procHex = (ip: string) =>
  ip
    .split(".")
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();

export interface TimeWaitPeer {
  guestPort: number;
  peerPort: number;
}

/** The TIME_WAIT sockets (state 06) in /proc/net/tcp or tcp6 text from `peer` (IPv4, or IPv4-mapped on a socket
 * listening on `::`) to one of `guestPorts`. */
export function timeWaitPeers(procNetTcp: string, peer: string, guestPorts: ReadonlySet<number>): TimeWaitPeer[] {
  const peerHexes = new Set([procHex(peer), `0000000000000000FFFF0000${procHex(peer)}`]);
  const found: TimeWaitPeer[] = [];
  for (const line of procNetTcp.split("\n")) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (state !== "06" || !local || !remote) continue;
    const [remoteIp, remotePort] = remote.split(":");
    const guestPort = parseInt(local.split(":")[1] ?? "", 16);
    if (peerHexes.has(remoteIp ?? "") && guestPorts.has(guestPort)) found.push({ guestPort, peerPort: parseInt(remotePort ?? "", 16) });
  }
  return found;
}

/** Holds 127.0.0.1:`port` for `ms`; false when something else holds it (then the kernel hands it out to no connect either). */
function reserve(port: number, ms: number): boolean {
  try {
    const holder = Bun.listen({ hostname: "127.0.0.1", port, socket: { open: (s) => void s.end(), data() {} } });
    holder.unref();
    setTimeout(() => holder.stop(true), ms).unref();
    return true;
  } catch {
    return false;
  }
}

/** Reserves the host ports a restored user-mode guest holds TIME_WAITs for on its forwards (caller holds the lock). */
export async function reserveForwardTimeWaitPorts(ctx: CoreContext, row: InstanceRow): Promise<void> {
  if (ctx.config.network.mode !== "user" || row.skipGuestAgent || runsLegacyAgent(ctx, row.id)) return;
  const guestPorts = new Set(networkView(ctx, row).forwards.map((f) => f.guestPort));
  const socket = agentSocketPath(hypervisorFor(ctx, row.hypervisor), guestDir(ctx, row.id));
  if (guestPorts.size === 0 || !socket) return;
  try {
    const listing = await execInGuest(socket, ["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"], { timeoutMs: AGENT_TIMEOUT_MS });
    const ports = [...new Set(timeWaitPeers(listing.stdout, USER_MODE_GUEST.gateway, guestPorts).map((p) => p.peerPort))].slice(0, MAX_RESERVED);
    if (ports.length === 0) return;
    const reserved = ports.filter((port) => reserve(port, TIME_WAIT_MS)).length;
    ctx.logger.info("host ports of the restored guest's TIME_WAITs reserved", { instance: row.id, found: ports.length, reserved });
  } catch (err) {
    // The guest serves regardless; a connection reusing such a port then waits for slirp's retransmission.
    ctx.logger.warn("could not list the restored guest's TIME_WAITs", { instance: row.id, error: String(err) });
  }
}
