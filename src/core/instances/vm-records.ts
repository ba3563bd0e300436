// Core's side of the VM records: what a started VMM runs and what a standby wrote are handed by the driver and
// kept by the store's payload module (hv never touches payload files); restore, fork and adoption read them back.
import type { Hypervisor, RunningVm, SavedVm } from "../../hv/hypervisor.ts";
import { readSavedVm, writeLaunchRecord, writeSavedVm } from "../../store/payload/vm-record.ts";
import type { CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";

/** Written last into a standby dir whose files `vm.snapshot()` has made durable. */
export async function recordStandby(ctx: CoreContext, hv: Hypervisor, standbyDir: string, saved: SavedVm): Promise<void> {
  await writeSavedVm(standbyDir, saved, hv.memoryFile, ctx.clock());
}

/** A copied standby dir made usable from `forkDir`: the driver moves its paths, the record follows. */
export async function rebaseStandbyForFork(hv: Hypervisor, standbyDir: string, savedIn: string, forkDir: string): Promise<void> {
  const record = await readSavedVm(standbyDir);
  const saved = await hv.prepareFork(standbyDir, record, savedIn, forkDir);
  await writeSavedVm(standbyDir, saved, record.memoryFile ?? hv.memoryFile, record.createdAt);
}

/** A freshly started VMM: its launch record first (adoption needs it), then the registry. One that cannot be recorded is ended. */
export async function trackLaunched(ctx: CoreContext, id: string, dir: string, vm: RunningVm): Promise<void> {
  try {
    await writeLaunchRecord(dir, vm.launched, ctx.clock());
  } catch (err) {
    await vm.kill();
    throw inStep("record launched VMM", err);
  }
  ctx.vms.track(id, vm, false);
}
