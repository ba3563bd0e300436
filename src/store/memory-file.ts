// Memory files are immutable once written (product.md §2): forks and snapshots share them by hard link, so
// anything about to write into one whose link count is > 1 first gives its own path a private copy. The other
// links keep the old inode and never see the change.
import { link, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDir } from "./atomic.ts";
import { sparseCopyFile, type SparseCopyOptions } from "./sparse-copy.ts";

/** Suffix of the private copy while it is being written; a leftover from a crash is discarded. */
const UNSHARE_SUFFIX = ".unshare.tmp";

/** How many directory entries name this file's inode. */
export async function linkCount(path: string): Promise<number> {
  return (await stat(path)).nlink;
}

/**
 * Makes `path` the only link to its content: when the inode is shared, `path` is replaced (copy, fsync,
 * rename) by a private sparse copy. Returns true when a copy was made, false when `path` was already private.
 */
export async function unshareFile(path: string, options: SparseCopyOptions = {}): Promise<boolean> {
  if ((await linkCount(path)) <= 1) return false;
  const tmp = `${path}${UNSHARE_SUFFIX}`;
  await rm(tmp, { force: true });
  try {
    await sparseCopyFile(path, tmp, options);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
  return true;
}

/** Adds `dst` as a durable second name for `src`'s inode (same filesystem; EXDEV otherwise, no copy fallback). */
export async function hardLink(src: string, dst: string): Promise<void> {
  await link(src, dst);
  await fsyncDir(dirname(dst));
}
