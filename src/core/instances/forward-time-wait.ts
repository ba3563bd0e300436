// A restored user-mode guest may still hold connections in TIME_WAIT that its server closed just before the standby
// (its clock stood still since). They are keyed by the host's source port of the forward (the guest sees
// 10.0.2.2:<host port>), which the host reuses meanwhile, and the restored QEMU's slirp starts its initial sequence
// numbers afresh, below where those connections ended. A SYN reusing such a port meets the TIME_WAIT, which answers
// with a bare ACK; slirp resets it and sends its SYN again only after its initial retransmission timeout, 6 s
// (issue #15, seen in a pcap of the netdev). So right after a restore, before any forwarded connection, the agent
// ends the guest's TIME_WAITs from the gateway (sock_diag SOCK_DESTROY); an older agent gets the port hold instead.
import { dropTimeWaits } from "../../hv/guest-agent/index.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { USER_MODE_GUEST } from "../network/leases.ts";
import { networkView } from "../network/network-view.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";
import { holdTimeWaitPorts } from "./time-wait-port-hold.ts";
import { guestDir } from "./view.ts";

const AGENT_TIMEOUT_MS = 5_000;
/** TIME_WAITs ended at most per restore (a guest that served a burst holds hundreds; the agent caps at 4 096). */
const MAX_DROPPED = 4_096;

/** Ends the TIME_WAITs a restored user-mode guest holds from the gateway, its forwards' peer (caller holds the lock). */
export async function clearForwardTimeWaits(ctx: CoreContext, row: InstanceRow): Promise<void> {
  if (ctx.config.network.mode !== "user" || row.skipGuestAgent || runsLegacyAgent(ctx, row.id)) return;
  const guestPorts = new Set(networkView(ctx, row).forwards.map((f) => f.guestPort));
  const socket = agentSocketPath(hypervisorFor(ctx, row.hypervisor), guestDir(ctx, row.id));
  if (guestPorts.size === 0 || !socket) return;
  const peer = USER_MODE_GUEST.gateway;
  try {
    const dropped = await dropTimeWaits(socket, peer, { max: MAX_DROPPED, timeoutMs: AGENT_TIMEOUT_MS });
    if (!dropped) return await holdTimeWaitPorts(ctx, row.id, socket, peer, guestPorts, AGENT_TIMEOUT_MS);
    if (dropped.found === 0) return;
    const log = dropped.errors > 0 || dropped.destroyed < dropped.found ? ctx.logger.warn : ctx.logger.info;
    log.call(ctx.logger, "restored guest's TIME_WAITs from the gateway ended", { instance: row.id, ...dropped });
  } catch (err) {
    // The guest serves regardless; a connection reusing such a port then waits for slirp's retransmission.
    ctx.logger.warn("could not end the restored guest's TIME_WAITs", { instance: row.id, error: String(err) });
  }
}
