// Sizes of payload on disk. Apparent size is what the files claim (a 1 GiB sparse disk counts 1 GiB): the
// snapshot record's size_bytes. Allocated size is what they cost (blocks in use): what a fork or a snapshot
// really adds to the host's disk.
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** st_blocks is in 512-byte units whatever the filesystem's block size. */
const STAT_BLOCK_BYTES = 512;

export interface PayloadSizes {
  /** Sum of st_size of the regular files: the snapshot row's size_bytes. */
  sizeBytes: number;
  /** Bytes allocated to them, hard links inside the tree counted once (they share their blocks). */
  allocatedBytes: number;
}

/** Both sizes of the regular files under `path` (or of `path` itself when it is a file), in one walk. */
export async function payloadSizes(path: string): Promise<PayloadSizes> {
  const seen = new Set<string>();
  const sizes = { sizeBytes: 0, allocatedBytes: 0 };
  await forEachFile(path, (stat) => {
    sizes.sizeBytes += stat.size;
    const inode = `${stat.dev}:${stat.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    sizes.allocatedBytes += stat.blocks * STAT_BLOCK_BYTES;
  });
  return sizes;
}

/** Bytes allocated to the regular files under `path`: what it costs the host's disk. */
export async function allocatedSize(path: string): Promise<number> {
  return (await payloadSizes(path)).allocatedBytes;
}

/** Visits regular files; symlinks are not followed, so a link out of the tree adds nothing. */
async function forEachFile(path: string, visit: (stat: Stats) => void): Promise<void> {
  const stat = await lstat(path);
  if (stat.isFile()) {
    visit(stat);
  } else if (stat.isDirectory()) {
    for (const name of await readdir(path)) await forEachFile(join(path, name), visit);
  }
}
