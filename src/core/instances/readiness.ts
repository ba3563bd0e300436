// The guest-agent readiness gate (reference §4.9): an operation that returns a Running VM first waits until the
// guest agent answers, so "Running" means the guest can be used.
import { waitForAgent } from "../../hv/guest-agent/index.ts";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { internal } from "../errors.ts";
import { agentSocketPath } from "../service/hypervisor-lookup.ts";
import { guestDir } from "./view.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";

export async function awaitGuestReady(ctx: CoreContext, row: InstanceRow, hv: Hypervisor): Promise<void> {
  const socket = agentSocketPath(hv, guestDir(ctx, row.id));
  if (runsLegacyAgent(ctx, row.id)) {
    // Restored from a first-release standby: its agent speaks an older protocol on another channel. The guest
    // runs on; what needs the agent is refused (409) until a stop and start.
    ctx.logger.warn("guest agent of the first release: not waited for", { instance: row.id });
  } else if (!row.skipGuestAgent) {
    if (socket === undefined) throw internal(`hypervisor ${hv.type} provides no guest-agent channel; create the instance with skip_guest_agent`);
    const since = performance.now();
    try {
      await waitForAgent(socket, { timeoutMs: ctx.config.agentReadyTimeoutMs });
    } catch (err) {
      throw internal(`wait for guest agent readiness of ${row.id}: ${err instanceof Error ? err.message : err}`, err);
    }
    ctx.logger.info("guest agent answered", { instance: row.id, waitedMs: Math.round(performance.now() - since) });
  }
  ctx.vms.markReady(row.id);
}
