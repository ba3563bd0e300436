// Taking a consistent copy of an instance's guest dir, as snapshot capture and fork from an instance do. A running
// source whose RAM is its own file is paused while its memory and disks are copied, then resumed in the same VMM;
// any other running source is briefly put into Standby, copied, and resumed whatever happened to the copy; a
// Standby one has its memory made raw first. `copy` writes into the caller's staging only and the caller commits after this returns,
// so one cleanup (removing the staging) undoes a failed copy and a failed resume alike.
import { mkdir } from "node:fs/promises";
import { removeTree } from "../../fs/atomic.ts";
import type { CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import type { Hypervisor, RunningVm } from "../../hv/hypervisor.ts";
import { hypervisorFor, requireCapabilities } from "../service/hypervisor-lookup.ts";
import { awaitGuestReady } from "./readiness.ts";
import { resumeFromStandby } from "./restore.ts";
import { enterStandby } from "./standby.ts";
import { isLive, type InstanceState } from "./state-machine.ts";
import { guestDir, standbyDir } from "./view.ts";
import { memoryImageBytes } from "./copy-cost.ts";
import { ensureFreeSpace } from "../service/disk-space.ts";
import { recordStandby } from "./vm-records.ts";

/** Validation step of the callers: a running source needs a driver that can put it into Standby. */
export function assertCapturable(hv: Hypervisor, state: InstanceState, operation: string): void {
  if (isLive(state)) requireCapabilities(hv, ["pause", "standby"], `${operation} a running instance`);
}

/** `state` is the source's, read under its lock (which the caller holds); `operation` labels metrics. */
export async function captureLive(ctx: CoreContext, id: string, state: InstanceState, operation: string, copy: () => Promise<void>): Promise<void> {
  const row = ctx.instances.get(id)!;
  const hv = hypervisorFor(ctx, row.hypervisor);
  if (!isLive(state)) {
    if (state === "Standby") await ctx.compression.takeRawMemory({ kind: "instance", id }, standbyDir(ctx, id), hv, operation);
    return copy();
  }
  await awaitGuestReady(ctx, row, hv);
  const live = ctx.vms.get(id)?.vm;
  if (live?.ramFile?.share) return captureInPlace(ctx, id, hv, live, copy);
  await enterStandby(ctx, id);
  const copyError = await copy().then(
    () => undefined,
    (err: unknown) => ({ err }),
  );
  try {
    await resumeFromStandby(ctx, id, operation);
  } catch (err) {
    throw inStep(copyError ? `resume source after failed copy (${String(copyError.err)})` : "resume source", err);
  }
  if (copyError) throw copyError.err;
}

/**
 * Pause, write the standby payload with a copy of the RAM file (the VMM keeps running on its own), copy the guest
 * dir, resume. Until the standby dir is gone again a crash leaves a paused VMM beside a complete standby payload,
 * which start-up reconciliation turns into a Standby instance.
 */
async function captureInPlace(ctx: CoreContext, id: string, hv: Hypervisor, vm: RunningVm, copy: () => Promise<void>): Promise<void> {
  const dir = standbyDir(ctx, id);
  const row = ctx.instances.get(id)!;
  await ensureFreeSpace(ctx, await memoryImageBytes(hv, guestDir(ctx, id), row.memoryBytes), `memory copy of ${row.name}`);
  await vm.pause().catch((err) => {
    throw inStep("pause VM", err);
  });
  try {
    await removeTree(dir);
    await mkdir(dir, { recursive: true });
    await recordStandby(ctx, hv, dir, await vm.snapshot(dir, { resumes: true }));
    await copy();
  } finally {
    await removeTree(dir);
    await vm.resume().catch((err) => {
      throw inStep("resume source", err);
    });
  }
}
