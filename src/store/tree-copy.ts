// Copies a guest dir (snapshot capture, restore, fork) by the reference's rules (reference-behaviour.md §2.4):
// recursive; the top-level logs/ subtree, Unix sockets and in-flight compression temp files are not payload;
// symlinks are recreated; regular files are sparse-copied, or hard-linked when the caller names them (immutable
// memory files: sharing the inode is the point, so a failed link is an error, never a silent copy).
import { chmod, link, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join, normalize } from "node:path";
import { sparseCopyFile } from "../fs/sparse-copy.ts";
import { GUEST_FILES } from "./payload/layout.ts";
import { isInFlightCompression } from "./payload/memory-forms.ts";

export interface TreeCopyOptions {
  /** Extra exclusions by relative path ("a/b"); a skipped dir is skipped with its subtree. */
  skip?: (relPath: string) => boolean;
  /** Relative paths of regular files to hard-link instead of copy; each must exist in the source. */
  linkFiles?: string[];
  signal?: AbortSignal;
  /** Bytes of regular files processed so far (linked files count at once) out of the total to process. */
  onProgress?: (done: number, total: number) => void;
}

export interface TreeCopyResult {
  /** Regular files copied or linked. */
  files: number;
  /** Data bytes written by copies (holes and links cost nothing). */
  bytesCopied: number;
}

type Entry =
  | { kind: "dir"; rel: string; mode: number }
  | { kind: "file"; rel: string; size: number }
  | { kind: "link"; rel: string; size: number }
  | { kind: "symlink"; rel: string };

/**
 * Copies `srcDir` into `dstDir`, which must not exist yet (it is created) or be an empty dir; it ends with
 * `srcDir`'s permissions. The whole source is walked first, so an unsupported file fails before anything is written.
 */
export async function copyTree(
  srcDir: string,
  dstDir: string,
  options: TreeCopyOptions = {},
): Promise<TreeCopyResult> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const rootStat = await lstat(srcDir);
  if (!rootStat.isDirectory()) throw new Error(`copy tree: not a directory: ${srcDir}`);
  const linkFiles = new Set((options.linkFiles ?? []).map((rel) => normalize(rel)));
  const entries = await plan(srcDir, "", linkFiles, options.skip ?? (() => false));
  const missing = [...linkFiles].filter((rel) => !entries.some((e) => e.kind === "link" && e.rel === rel));
  if (missing.length > 0) {
    throw new Error(`copy tree: regular files to link not found in ${srcDir}: ${missing.join(", ")}`);
  }

  await prepareDestination(dstDir);
  const total = entries.reduce((sum, e) => sum + (e.kind === "file" || e.kind === "link" ? e.size : 0), 0);
  let done = 0;
  let files = 0;
  let bytesCopied = 0;
  for (const entry of entries) {
    signal?.throwIfAborted();
    const from = join(srcDir, entry.rel);
    const to = join(dstDir, entry.rel);
    switch (entry.kind) {
      case "dir":
        // Owner-writable until filled; the source's mode is applied afterwards (it may be read-only).
        await mkdir(to, { mode: 0o700 });
        break;
      case "symlink":
        await symlink(await readlink(from), to);
        break;
      case "link":
        await link(from, to);
        files++;
        done += entry.size;
        onProgress?.(done, total);
        break;
      case "file": {
        const base = done;
        const copied = await sparseCopyFile(from, to, {
          signal,
          onProgress: onProgress && ((fileDone) => onProgress(base + fileDone, total)),
        });
        files++;
        bytesCopied += copied.bytesCopied;
        done = base + entry.size;
        break;
      }
    }
  }
  // Deepest first, so a read-only parent is set after its children were created.
  for (const entry of entries.toReversed()) {
    if (entry.kind === "dir") await chmod(join(dstDir, entry.rel), entry.mode);
  }
  await chmod(dstDir, rootStat.mode & 0o7777);
  return { files, bytesCopied };
}

/** The entries to create, parents before children, in a stable (sorted) order. */
async function plan(
  root: string,
  relDir: string,
  linkFiles: Set<string>,
  skip: (rel: string) => boolean,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  const names = (await readdir(join(root, relDir))).sort();
  for (const name of names) {
    const rel = relDir === "" ? name : join(relDir, name);
    const path = join(root, rel);
    const stat = await lstat(path);
    if (skip(rel) || stat.isSocket() || isInFlightCompression(name)) continue;
    if (stat.isDirectory()) {
      // Runtime logs (serial console) belong to a running guest, not to its payload.
      if (rel === GUEST_FILES.logsDir) continue;
      entries.push({ kind: "dir", rel, mode: stat.mode & 0o7777 });
      entries.push(...(await plan(root, rel, linkFiles, skip)));
    } else if (stat.isSymbolicLink()) {
      entries.push({ kind: "symlink", rel });
    } else if (stat.isFile()) {
      entries.push({ kind: linkFiles.has(rel) ? "link" : "file", rel, size: stat.size });
    } else {
      throw new Error(`unsupported file type: ${path}`);
    }
  }
  return entries;
}

async function prepareDestination(dstDir: string): Promise<void> {
  try {
    await mkdir(dstDir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if ((await readdir(dstDir)).length > 0) throw new Error(`copy tree: destination is not empty: ${dstDir}`);
  }
}
