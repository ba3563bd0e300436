// What core does around a driver, for the tests that drive one directly: a snapshot's record and a restore's
// input go through the store's payload module, as they do in the service.
import { rebaseStandbyForFork } from "../src/core/instances/vm-records.ts";
import type { Hypervisor, RunningVm, SavedVm, StartRequest } from "../src/hv/hypervisor.ts";
import { readSavedVm, writeSavedVm } from "../src/store/payload/vm-record.ts";

/** `vm.snapshot(dir)`, then its record beside the files. */
export async function snapshotRecorded(hv: Hypervisor, vm: RunningVm, dir: string): Promise<void> {
  await writeSavedVm(dir, await vm.snapshot(dir), hv.memoryFile, new Date());
}

/** The driver's own VM type comes back (QemuVm from the QEMU driver). */
export async function restoreFrom<V extends RunningVm>(
  hv: { restore(req: Parameters<Hypervisor["restore"]>[0]): Promise<V> },
  req: StartRequest & { snapshotDir: string },
): Promise<V> {
  return hv.restore({ ...req, saved: await readSavedVm(req.snapshotDir) });
}

export async function checkRestorable(hv: Hypervisor, snapshotDir: string): Promise<SavedVm> {
  return hv.checkRestorable(await readSavedVm(snapshotDir));
}

export const prepareFork = rebaseStandbyForFork;
