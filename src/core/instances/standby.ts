// POST /instances/{id}/standby (reference §4.2): pause, write memory + device state into the guest's standby
// dir, end the VMM. The instance is then Standby until restored; its memory may be compressed in the background.
import { mkdir } from "node:fs/promises";
import { removeTree } from "../../fs/atomic.ts";
import { standbyPlan, type CompressionConfig } from "../compression/compression-policy.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { inStep, invalidState } from "../errors.ts";
import { ensureFreeSpace, storageError } from "../service/disk-space.ts";
import { hypervisorFor, requireCapabilities } from "../service/hypervisor-lookup.ts";
import { describeInstance, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./view.ts";
import { assertTransition } from "./state-machine.ts";
import { recordStandby } from "./vm-records.ts";
import { parkNetwork } from "../network/leases.ts";

export interface StandbyOptions {
  compression?: CompressionConfig;
  compressionDelayMs?: number;
  /** Asked under the lock before anything is touched: false leaves the instance as it is (auto-standby's last
   * check, so activity that arrived during its countdown wins). */
  stillWanted?: () => boolean;
}

export async function standbyInstance(ctx: CoreContext, ref: string, opts: StandbyOptions = {}): Promise<InstanceView> {
  const { id } = resolveInstance(ctx, ref);
  return runLocked(ctx, id, "standby", async () => {
    const view = await loadInstance(ctx, id);
    if (opts.stillWanted && !opts.stillWanted()) return view;
    const asked = opts.compression !== undefined || opts.compressionDelayMs !== undefined;
    if (view.state === "Standby" && !asked) return view;
    assertTransition(view.state, "Paused", "standby");
    requireCapabilities(hypervisorFor(ctx, view.hypervisor), ["pause", "standby"], "standby");
    const plan = standbyPlan(view.snapshotPolicy, opts, ctx.config.compressionDefault);
    await enterStandby(ctx, id);
    if (plan) ctx.compression.scheduleStandby(id, standbyDir(ctx, id), view.hypervisor, plan);
    return describeInstance(ctx, ctx.instances.get(id)!);
  });
}

/**
 * Pause → snapshot → end the VMM (caller holds the lock and has checked the driver's capabilities). Used by
 * standby itself and, without compression, by live capture. On a failed snapshot the VM is resumed and nothing
 * is kept.
 */
export async function enterStandby(ctx: CoreContext, id: string): Promise<void> {
  const row = ctx.instances.get(id)!;
  const live = ctx.vms.get(id);
  if (!live) throw invalidState(`instance ${id} has no running VMM`);
  const dir = standbyDir(ctx, id);
  // The memory image is at most the guest's RAM (zero pages take less): checked before the guest is touched.
  const what = `standby of ${row.name}`;
  await ensureFreeSpace(ctx, row.memoryBytes, what);
  await live.vm.pause().catch((err) => {
    throw inStep("pause VM", err);
  });
  try {
    await removeTree(dir);
    await mkdir(dir, { recursive: true });
    await recordStandby(ctx, hypervisorFor(ctx, row.hypervisor), dir, await live.vm.snapshot(dir));
  } catch (err) {
    await removeTree(dir);
    await live.vm.resume().catch((resumeErr) => ctx.logger.error("resume after failed snapshot", { instance: id, error: String(resumeErr) }));
    throw (await storageError(ctx, err, row.memoryBytes, what)) ?? inStep("snapshot VM", err);
  }
  ctx.vms.release(id);
  await live.vm.kill().catch((err) => {
    throw inStep("end VMM after snapshot", err);
  });
  ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
  await parkNetwork(ctx, id);
}
