// Fallback of forward-time-wait.ts for a guest agent without DROP_TIME_WAIT (an older guest image): the host
// ports of the guest's TIME_WAITs on its forwards are reserved until those have run out, so the kernel hands none
// of them to a connect. A loopback listener that answers nothing holds each. (Using the port once instead, to let
// slirp's reset end the TIME_WAIT, leaves slirp holding that connection half-open, and the next one meets it.)
import { execInGuest } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";

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

/** Reserves the host ports of the guest's TIME_WAITs from `peer` on `guestPorts`, listed through the agent at `socket`. */
export async function holdTimeWaitPorts(ctx: CoreContext, instance: string, socket: string, peer: string, guestPorts: ReadonlySet<number>, timeoutMs: number): Promise<void> {
  const listing = await execInGuest(socket, ["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"], { timeoutMs });
  const ports = [...new Set(timeWaitPeers(listing.stdout, peer, guestPorts).map((p) => p.peerPort))].slice(0, MAX_RESERVED);
  if (ports.length === 0) return;
  const reserved = ports.filter((port) => reserve(port, TIME_WAIT_MS)).length;
  ctx.logger.info("host ports of the restored guest's TIME_WAITs reserved", { instance, found: ports.length, reserved });
}
