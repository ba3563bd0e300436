// Guest memory against the host's: a guest can never be bigger than the host (checked at create), and a VMM is
// not started for a guest the host cannot hold right now (checked before start, restore and fork).
import { readSavedVm } from "../../store/payload/vm-record.ts";
import { insufficientResources } from "../errors.ts";
import type { CoreContext } from "./context.ts";
import { describeBytes } from "./describe-bytes.ts";

/**
 * What a VMM needs beyond its guest's RAM (QEMU's own heap, device models, page tables). A guest touches its RAM
 * lazily, so requested size overstates a fresh boot; but a restore loads the whole memory image and any guest
 * may touch all its RAM later, so the requested size is the honest figure, and this margin keeps the VMM itself
 * from tipping the host into the OOM killer.
 */
export const VMM_OVERHEAD_BYTES = 64 * 1024 * 1024;

/** At create: a guest bigger than the host's total memory could never start. */
export function ensureFitsHost(ctx: CoreContext, memoryBytes: number): void {
  const { totalBytes } = ctx.host.memory();
  if (memoryBytes > totalBytes) {
    throw insufficientResources(`size ${describeBytes(memoryBytes)} exceeds the host's total memory of ${describeBytes(totalBytes)}`);
  }
}

/**
 * What restoring the standby payload in `standbyDir` claims of host memory for the guest's RAM: all of it when a
 * stream is loaded into the VMM's own memory; nothing up front when the RAM is a file the VMM maps. Pages of that
 * file the guest has not written are page cache the kernel can drop or write back (and a fork shares them with its
 * snapshot and every other fork), so a fan-out of N forks is not N guests' worth; what a guest writes becomes its
 * own, and MemAvailable shows it to the next check.
 */
export async function restoreClaimBytes(standbyDir: string, memoryBytes: number): Promise<number> {
  const kind = await readSavedVm(standbyDir).then(
    (record) => record.memoryKind,
    () => undefined,
  );
  return kind === "ram-file" ? 0 : memoryBytes;
}

/** Before a VMM starts: the guest's memory plus the VMM's overhead must be available now (MemAvailable). */
export function ensureMemoryAvailable(ctx: CoreContext, memoryBytes: number, what: string): void {
  const { availableBytes } = ctx.host.memory();
  const needed = memoryBytes + VMM_OVERHEAD_BYTES;
  if (needed > availableBytes) {
    throw insufficientResources(
      `${what} needs ${describeBytes(needed)} of host memory (guest ${describeBytes(memoryBytes)} + VMM ${describeBytes(VMM_OVERHEAD_BYTES)}), ${describeBytes(availableBytes)} available`,
    );
  }
}
