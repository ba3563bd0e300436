// How a running instance's guest memory is held (GET /instances/{id} `memory`): in a file or loaded from a stream
// into the VMM's own memory, copy-on-write over which snapshot's memory file, and what the VMM holds alone.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { RamFile } from "../../hv/hypervisor.ts";
import { vmmMemory } from "../../hv/vmm-memory.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";

export interface MemoryView {
  backing: "file" | "stream";
  /** The snapshot whose memory file the guest's RAM maps copy-on-write; null when it holds its own. */
  sharedWithSnapshot: string | null;
  /** Private_Clean + Private_Dirty of the VMM process (smaps_rollup); null when it could not be read. */
  privateBytes: number | null;
}

/** null without a live VMM. */
export async function memoryView(ctx: CoreContext, row: InstanceRow): Promise<MemoryView | null> {
  const vm = ctx.vms.get(row.id)?.vm;
  if (!vm) return null;
  const memoryFile = hypervisorFor(ctx, row.hypervisor).memoryFile;
  const [usage, sharedWithSnapshot] = await Promise.all([vmmMemory(vm.pid), vm.ramFile ? snapshotMapped(ctx, vm.ramFile, memoryFile) : null]);
  return { backing: vm.ramFile ? "file" : "stream", sharedWithSnapshot, privateBytes: usage?.privateBytes ?? null };
}

/** The snapshot whose memory file is the inode a copy-on-write RAM file links (the VMM holds that link while it runs). */
async function snapshotMapped(ctx: CoreContext, ram: RamFile, memoryFile: string): Promise<string | null> {
  if (ram.share) return null;
  const mapped = await stat(ram.path).catch(() => null);
  if (!mapped) return null;
  for (const snapshot of ctx.snapshots.all()) {
    const file = await stat(join(ctx.paths.snapshotGuest(snapshot.id), GUEST_FILES.standbyDir, memoryFile)).catch(() => null);
    if (file && file.ino === mapped.ino && file.dev === mapped.dev) return snapshot.id;
  }
  return null;
}
