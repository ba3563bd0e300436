// How much host memory a VMM process holds, from the kernel's own accounting (/proc/<pid>/smaps_rollup).
import { readFile } from "node:fs/promises";

export interface VmmMemory {
  /** Private_Clean + Private_Dirty: pages mapped by this process alone (what ending it gives back). */
  privateBytes: number;
  /** Of those, written pages: anonymous copies (copy-on-write RAM, the VMM's own heap) and unwritten-back file pages. */
  privateDirtyBytes: number;
  /** Proportional set size: each page shared by N processes counts 1/N. */
  pssBytes: number;
}

/** Parses smaps_rollup (`Pss:  1234 kB` lines); a field the kernel does not print counts 0. */
export function parseSmapsRollup(text: string): VmmMemory {
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { privateBytes: kib("Private_Clean") + kib("Private_Dirty"), privateDirtyBytes: kib("Private_Dirty"), pssBytes: kib("Pss") };
}

/** null when the process is gone (or not ours to read). */
export async function vmmMemory(pid: number): Promise<VmmMemory | null> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => null);
  return text === null ? null : parseSmapsRollup(text);
}
