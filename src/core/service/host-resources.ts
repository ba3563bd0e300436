// What the host has: memory and free disk. Core asks this probe before it sizes a guest or writes a payload;
// the composition root builds the real one, and tests pass their own to play a small host without touching
// core code paths.
import { readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";

export interface HostMemory {
  /** MemTotal: the most any guest could ever be given. */
  totalBytes: number;
  /** MemAvailable: what can be allocated now without swapping (page cache that can be dropped included). */
  availableBytes: number;
}

export interface HostResources {
  memory(): HostMemory;
  /** Bytes an unprivileged writer can still put on the file system holding `dir` (statfs f_bavail). */
  freeBytes(dir: string): Promise<number>;
}

const MEMINFO = "/proc/meminfo";

/** The real host, read on every call (memory and disk change under us). */
export const linuxHostResources: HostResources = {
  memory: () => parseMeminfo(readFileSync(MEMINFO, "utf8")),
  async freeBytes(dir) {
    const fs = await statfs(dir);
    return fs.bavail * fs.bsize;
  },
};

/** MemTotal and MemAvailable of /proc/meminfo (values in kB, which the kernel means as KiB). */
export function parseMeminfo(text: string): HostMemory {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!m) throw new Error(`${MEMINFO} has no ${key}`);
    return Number(m[1]) * 1024;
  };
  return { totalBytes: kib("MemTotal"), availableBytes: kib("MemAvailable") };
}
