// POST /instances/{id}/restore (reference §4.3): a fresh VMM loads the standby memory and resumes; the guest
// continues where it stopped. The standby files are dropped only once the guest is ready again, so a failed
// restore leaves the instance in Standby with nothing lost.
import { discardTree } from "../../fs/atomic.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { inStep, invalidState } from "../errors.ts";
import { ensureMemoryAvailable, restoreClaimBytes } from "../service/host-memory.ts";
import { ensureFreeSpace } from "../service/disk-space.ts";
import { decompressBytes } from "./copy-cost.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./view.ts";
import { awaitGuestReady } from "./readiness.ts";
import { enterStandby } from "./standby.ts";
import { isLive } from "./state-machine.ts";
import { readVmConfig } from "./vm-config.ts";
import { trackLaunched } from "./vm-records.ts";
import { readSavedVm } from "../../store/payload/vm-record.ts";
import type { VmConfig } from "../../hv/hypervisor.ts";
import { acquireNetwork, releaseNetwork } from "../network/leases.ts";
import { FORK_HANDOFFS, runHandoffs, type ResumedFrom } from "./handoffs.ts";
import { clearForwardTimeWaits } from "./forward-time-wait.ts";

export async function restoreInstance(ctx: CoreContext, ref: string): Promise<InstanceView> {
  const { id } = resolveInstance(ctx, ref);
  return runLocked(ctx, id, "restore", async () => {
    const view = await loadInstance(ctx, id);
    if (isLive(view.state)) return view;
    if (view.state !== "Standby") throw invalidState(`cannot restore from state ${view.state}: no standby memory to restore`);
    ensureMemoryAvailable(ctx, await restoreClaimBytes(standbyDir(ctx, id), view.memoryBytes), `restoring ${view.name}`);
    await ensureFreeSpace(ctx, decompressBytes(hypervisorFor(ctx, view.hypervisor), standbyDir(ctx, id), view.memoryBytes), `restore of ${view.name}`);
    return resumeFromStandby(ctx, id, "restore_instance");
  });
}

/** Standby → Running (caller holds the lock). `operation` labels the compression pre-emption it may cause. */
export async function resumeFromStandby(ctx: CoreContext, id: string, operation: string): Promise<InstanceView> {
  const row = ctx.instances.get(id)!;
  const hv = hypervisorFor(ctx, row.hypervisor);
  const dir = guestDir(ctx, id);
  const snapshotDir = standbyDir(ctx, id);
  await ctx.compression.takeRawMemory({ kind: "instance", id }, snapshotDir, hv, operation);
  const config = await readVmConfig(dir);
  // A fork's record carries its own generation id while its standby files still hold its source's, and a guest
  // restored from a snapshot into a stopped instance gets a fresh lease: either way the guest resumes configured
  // as someone else and must be told who it is now (handoffs). A plain restore keeps both.
  let newIdentity = false;
  let from: ResumedFrom = {};
  const net = await acquireNetwork(ctx, row);
  const vm = await readSavedVm(snapshotDir)
    .then((saved) => {
      const source = saved.config as Partial<VmConfig>;
      newIdentity = source.generationId !== config.generationId || net?.fresh === true;
      from = source.network ? { network: source.network } : {};
      return hv.restore({ dir, config: { ...config, ...(net ? { network: net.attachment } : {}) }, snapshotDir, saved });
    })
    .catch(async (err) => {
      if (net?.fresh) await releaseNetwork(ctx, id);
      throw inStep("restore VMM", err);
    });
  await trackLaunched(ctx, id, dir, vm);
  ctx.instances.update(id, { pid: vm.pid, hypervisorVersion: await hv.version(), stoppedAt: null });
  try {
    await awaitGuestReady(ctx, row, hv);
  } catch (err) {
    // The guest ran and its disk moved on: the old standby memory no longer matches it. Capture the VM as it
    // is now, so the instance is back in Standby with memory and disk in step.
    await enterStandby(ctx, id).catch(async (standbyErr) => {
      ctx.logger.error("standby after failed restore", { instance: id, error: String(standbyErr) });
      await ctx.vms.release(id)?.kill();
    });
    throw err;
  }
  if (newIdentity) await runHandoffs(ctx, ctx.instances.get(id)!, FORK_HANDOFFS, from);
  await clearForwardTimeWaits(ctx, ctx.instances.get(id)!);
  await discardTree(snapshotDir, ctx.paths.tmpDir);
  return describeInstance(ctx, ctx.instances.get(id)!);
}
