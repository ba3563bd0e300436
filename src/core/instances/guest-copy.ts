// Copying a guest dir (snapshot capture, restore, fork). Disks are copied sparsely; memory files are immutable
// once written, so they are hard-linked instead of copied: a snapshot or fork of a 1 GiB guest adds no memory
// bytes on disk, and every sharer keeps its inode when another one deletes or recompresses its own link.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { SparseCopyUnsupportedError } from "../../fs/sparse-copy.ts";
import { copyTree } from "../../store/tree-copy.ts";
import { memoryFileForms } from "../../store/payload/memory-forms.ts";
import { inStep, internal } from "../errors.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";

/** `purpose` names the operation in errors ("snapshot", "fork", "restore"). */
export async function copyGuestDir(hv: Hypervisor, from: string, to: string, purpose: string): Promise<void> {
  // The memory file of the standby payload, in whichever form it is stored.
  const linkFiles = memoryFileForms(join(GUEST_FILES.standbyDir, hv.memoryFile)).filter((rel) => existsSync(join(from, rel)));
  // A running guest's RAM file and stand-in kernel are its VMM's, not payload (a capture copies the RAM into the
  // standby dir itself).
  const { ramFile, restoreKernel } = hv.layout();
  try {
    await copyTree(from, to, { linkFiles, skip: (rel) => rel === ramFile || rel === restoreKernel });
  } catch (err) {
    if (err instanceof SparseCopyUnsupportedError) {
      throw internal(`${purpose} requires sparse-capable filesystem (SEEK_DATA/SEEK_HOLE unsupported)`, err);
    }
    throw inStep(`copy guest dir for ${purpose}`, err);
  }
}
