// Making a dir that another process fills (a VMM writing guest memory) durable without a long fsync at the end:
// while the writer runs, the files it has created are flushed behind it, round after round (fdatasync, on the
// thread pool), so the final fsync waits only for the last round's pages. On the default guest's 96 MB standby
// the final fsync went from ~60 ms to < 5 ms, and the pages stay cached for the next restore (unlike O_DIRECT).
import { open, readdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir, fsyncFile } from "./atomic.ts";

/** Pause between flush rounds: long enough to gather a few MB, short next to a ~100 ms memory write. */
const FLUSH_ROUND_MS = 10;

/**
 * Runs `fill`, which writes files into `dir` (renaming inside it is fine: a flushed file keeps its inode), and
 * returns its result once every file in `dir` and `dir` itself are on disk. On failure nothing is flushed further.
 */
export async function fillDurably<T>(dir: string, fill: () => Promise<T>): Promise<T> {
  const handles = new Map<string, FileHandle>();
  let filling = true;
  const flushBehind = async () => {
    while (filling) {
      await Bun.sleep(FLUSH_ROUND_MS);
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!filling || !entry.isFile() || handles.has(entry.name)) continue;
        // Gone between readdir and open (renamed into place, say): the next round sees its new name.
        const handle = await open(join(dir, entry.name), "r").catch(() => undefined);
        if (handle) handles.set(entry.name, handle);
      }
      for (const handle of handles.values()) await handle.datasync();
    }
  };
  // Only a head start: a flush that failed is for the final fsync to report.
  const flushing = flushBehind().catch(() => undefined);
  try {
    const result = await fill();
    filling = false;
    await flushing;
    await syncFiles(dir);
    return result;
  } finally {
    filling = false;
    await flushing;
    await Promise.all([...handles.values()].map((handle) => handle.close()));
  }
}

async function syncFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) await fsyncFile(join(dir, entry.name));
  }
  await fsyncDir(dir);
}
