// The file a QEMU guest's RAM lives in (`memory-backend-file` in its guest dir). One mapped shared has its blocks
// reserved while QEMU maps it: the guest's first write to a page then needs no free space, where on a full disk
// it would be a SIGBUS that kills QEMU (and the guest's state with it). Copy-on-write mappers need none: their
// writes go to anonymous memory.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { releaseUnwrittenBlocks, reserveBlocks } from "../../fs/block-reservation.ts";
import { inStep, type RamFile } from "../hypervisor.ts";
import { QEMU_LAYOUT } from "./argv.ts";

/** Where `dir`'s guest RAM file is. */
export function ramPath(dir: string): string {
  return join(dir, QEMU_LAYOUT.ramFile!);
}

/** The guest's own RAM file, new and reserved at the guest's size; one left by an ended VMM is garbage. */
export async function freshRam(dir: string, bytes: number): Promise<RamFile> {
  const ram = { path: ramPath(dir), share: true };
  await rm(ram.path, { force: true });
  await reserveRam(ram, bytes);
  return ram;
}

/**
 * Reserves every block of a RAM file QEMU is about to map shared, keeping its data. A full disk is refused here,
 * before QEMU starts, with nothing left reserved and the guest dir's link gone.
 */
export async function reserveRam(ram: RamFile, bytes: number): Promise<void> {
  try {
    reserveBlocks(ram.path, bytes);
  } catch (err) {
    await rm(ram.path, { force: true });
    throw inStep("reserve the guest's RAM file", err);
  }
}

/**
 * Removes the guest dir's link to a RAM file no VMM maps any more. A file that was mapped shared (linked into a
 * standby payload, or a payload whose restore failed) keeps only the blocks it has data in, so allocated-bytes
 * accounting sees its data, not the guest's size.
 */
export async function dropRam(ram: RamFile): Promise<void> {
  if (ram.share) {
    try {
      releaseUnwrittenBlocks(ram.path);
    } catch {
      // Housekeeping only: reserved blocks read as zeros either way, and a file already gone has none.
    }
  }
  await rm(ram.path, { force: true });
}
