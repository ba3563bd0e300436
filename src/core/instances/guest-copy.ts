// Copying a guest dir (snapshot capture, restore, fork). Disks are copied sparsely; memory files are immutable
// once written, so they are hard-linked instead of copied: a snapshot or fork of a 1 GiB guest adds no memory
// bytes on disk, and every sharer keeps its inode when another one deletes or recompresses its own link.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { SparseCopyUnsupportedError } from "../../fs/sparse-copy.ts";
import { copyTree } from "../../store/tree-copy.ts";
import { COMPRESSION_ALGORITHMS } from "../compression/compression-policy.ts";
import { compressedPath } from "../compression/compression-jobs.ts";
import { inStep, internal } from "../errors.ts";
import { GUEST_FILES } from "../../store/paths.ts";

/** The memory file of a standby payload, relative to the guest dir, in each form it may be stored in. */
export function memoryFileForms(hv: Hypervisor): string[] {
  const raw = join(GUEST_FILES.standbyDir, hv.memoryFile);
  return [raw, ...COMPRESSION_ALGORITHMS.map((a) => compressedPath(raw, a))];
}

/** `purpose` names the operation in errors ("snapshot", "fork", "restore"). */
export async function copyGuestDir(hv: Hypervisor, from: string, to: string, purpose: string): Promise<void> {
  const linkFiles = memoryFileForms(hv).filter((rel) => existsSync(join(from, rel)));
  try {
    await copyTree(from, to, { linkFiles });
  } catch (err) {
    if (err instanceof SparseCopyUnsupportedError) {
      throw internal(`${purpose} requires sparse-capable filesystem (SEEK_DATA/SEEK_HOLE unsupported)`, err);
    }
    throw inStep(`copy guest dir for ${purpose}`, err);
  }
}
