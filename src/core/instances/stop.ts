// POST /instances/{id}/stop: graceful power-off, then kill; Standby instances drop their standby files.
import { execInGuest } from "../../hv/guest-agent/index.ts";
import { removeTree } from "../../fs/atomic.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./view.ts";
import { assertTransition } from "./state-machine.ts";
import { releaseNetwork } from "../network/leases.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";

export async function stopInstance(ctx: CoreContext, ref: string): Promise<InstanceView> {
  const { id } = resolveInstance(ctx, ref);
  return runLocked(ctx, id, "stop", async () => {
    const view = await loadInstance(ctx, id);
    if (view.state === "Stopped") return view;
    assertTransition(view.state, "Stopped", "stop");
    await haltInstance(ctx, id);
    return describeInstance(ctx, ctx.instances.get(id)!);
  });
}

/** How long the guest gets to sync and power off when asked through its agent. */
const AGENT_POWEROFF_WAIT_MS = 5_000;

/** Ends the VMM (gracefully, within the stop timeout) and discards standby files. Caller holds the lock. */
export async function haltInstance(ctx: CoreContext, id: string): Promise<void> {
  const live = ctx.vms.get(id);
  if (live?.ready && !runsLegacyAgent(ctx, id)) await powerOffThroughAgent(ctx, id, live.vm.exited);
  const vm = ctx.vms.release(id);
  if (vm) {
    await vm.shutdown(ctx.config.stopTimeoutMs).catch((err) => {
      throw inStep("stop VMM", err);
    });
  }
  await ctx.compression.cancel({ kind: "instance", id }, "stop_instance");
  await removeTree(standbyDir(ctx, id));
  ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
  await releaseNetwork(ctx, id);
}

/**
 * Guests whose init ignores the ACPI power button (like the default busybox guest) would make every stop wait for
 * the full timeout; a guest with an agent is asked to sync and power off instead. Best effort: the VMM shutdown
 * that follows covers every failure here.
 */
async function powerOffThroughAgent(ctx: CoreContext, id: string, exited: Promise<unknown>): Promise<void> {
  const row = ctx.instances.get(id)!;
  const socket = row.skipGuestAgent ? undefined : agentSocketPath(hypervisorFor(ctx, row.hypervisor), guestDir(ctx, id));
  if (!socket) return;
  // The command never answers (the guest is gone); what matters is that the VMM exits.
  void execInGuest(socket, "sync; poweroff -f", { timeoutMs: AGENT_POWEROFF_WAIT_MS }).catch(() => {});
  await Promise.race([exited, Bun.sleep(AGENT_POWEROFF_WAIT_MS)]);
}
