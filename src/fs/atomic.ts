// The one way payload reaches its final path: written under a temp name on the same filesystem, fsynced, then
// renamed, then the parent dir fsynced, so after a crash a path holds either nothing or a complete file or dir
// (product.md §2). Dirs are built in `<data>/tmp/<uuid>`; leftovers there are removed at start-up.
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { exchangePaths, renameNoReplace } from "./libc.ts";

/** Mode of files written by writeFileAtomic unless the caller asks otherwise (snapshot.json in the reference). */
export const ATOMIC_FILE_MODE = 0o644;
/** Staging dirs hold guest memory and disks: private to the service user. */
const STAGING_DIR_MODE = 0o700;

/** Writes `data` to `path` so that readers see the old content or the new one, never a partial file. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const mode = options.mode ?? ATOMIC_FILE_MODE;
  try {
    // `mode` at creation (before any byte is written) keeps secrets private from the start.
    await writeFile(tmp, data, { mode, flag: "wx" });
    await commitFile(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Gives a fully written temp file (same dir as `path`) its final name: file fsynced, renamed over `path`, dir
 * fsynced, so after a crash `path` holds the old file or the new one, never a partial one. Removing the temp file
 * on failure is the caller's, who knows whether it may still be written.
 */
export async function commitFile(tmp: string, path: string): Promise<void> {
  await fsyncFile(tmp);
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Flushes a file's data and metadata to disk. */
export async function fsyncFile(path: string): Promise<void> {
  await syncPath(path);
}

/** Flushes a dir's entries (creations, renames, removals in it) to disk. */
export async function fsyncDir(path: string): Promise<void> {
  await syncPath(path);
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates a new, empty, private staging dir under `tmpRoot` (`<data>/tmp`) and returns its path. */
export async function stageDir(tmpRoot: string): Promise<string> {
  await mkdir(tmpRoot, { recursive: true, mode: STAGING_DIR_MODE });
  const dir = join(tmpRoot, randomUUID());
  await mkdir(dir, { mode: STAGING_DIR_MODE });
  return dir;
}

/**
 * Moves a fully built staging dir to `finalDir`, which must not exist (EEXIST otherwise, atomically: two
 * committers cannot both win). The files were fsynced by whoever wrote them (sparse copy, writeFileAtomic);
 * here the dir entries of the whole tree are flushed, then the rename and both parents.
 */
export function commitDir(stagingDir: string, finalDir: string): Promise<void> {
  return publishDir(stagingDir, finalDir, renameNoReplace);
}

/**
 * Swaps a fully built staging dir with a live one, atomically: after a crash each path holds one of the two
 * whole trees, never nothing. Flushed as commitDir.
 */
export function exchangeDirs(stagingDir: string, liveDir: string): Promise<void> {
  return publishDir(stagingDir, liveDir, exchangePaths);
}

async function publishDir(stagingDir: string, target: string, move: (from: string, to: string) => void): Promise<void> {
  await fsyncDirTree(stagingDir);
  move(stagingDir, target);
  await fsyncDir(dirname(target));
  if (dirname(stagingDir) !== dirname(target)) await fsyncDir(dirname(stagingDir));
}

async function fsyncDirTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await fsyncDirTree(join(dir, entry.name));
  }
  await fsyncDir(dir);
}

/** `rm -rf`: removes a file or dir tree; a missing path is not an error. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * Makes `path` disappear at once (a rename into `tmpRoot`, same filesystem) and frees its blocks in the
 * background, off the caller's latency. A crash before the removal leaves it in tmp/, which start-up clears.
 */
export async function discardTree(path: string, tmpRoot: string): Promise<void> {
  const parked = join(tmpRoot, `discard-${randomUUID()}`);
  try {
    await rename(path, parked);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  void removeTree(parked);
}
