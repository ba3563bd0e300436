// What copying a guest dir (snapshot capture, fork) adds to the data dir's disk: the blocks its disks and logs
// hold. The standby payload beside them is left out: its memory file is hard-linked, not copied, and the rest of
// it (device state, the saved VM record) is small. A running guest's RAM file is not copied either (it is
// reserved at the guest's full size while QEMU maps it: its blocks say nothing about its data).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { allocatedSize } from "../../store/file-sizes.ts";
import { dataBytes } from "../../fs/block-reservation.ts";
import { standbyPath } from "../../store/payload/layout.ts";
import { storedMemoryForm } from "../../store/payload/memory-forms.ts";
import { isLive, type InstanceState } from "./state-machine.ts";

export async function guestCopyBytes(dir: string, ramFile?: string): Promise<number> {
  let bytes = await allocatedSize(dir);
  for (const left of [standbyPath(dir), ...(ramFile === undefined ? [] : [join(dir, ramFile)])]) {
    if (existsSync(left)) bytes -= await allocatedSize(left);
  }
  return bytes;
}

/**
 * What capturing a guest in `state` writes before and during the copy: a running guest's memory image (it is put
 * into Standby first) or the raw form of a compressed one (decompressed before it can be linked), plus the copy.
 */
export async function captureBytes(hv: Hypervisor, dir: string, state: InstanceState, memoryBytes: number): Promise<number> {
  return (isLive(state) ? await memoryImageBytes(hv, dir, memoryBytes) : decompressBytes(hv, standbyPath(dir), memoryBytes)) + (await guestCopyBytes(dir, hv.layout().ramFile));
}

/** A running guest's memory image: a sparse copy of its RAM file (the data it holds), else up to its whole RAM. */
export async function memoryImageBytes(hv: Hypervisor, dir: string, memoryBytes: number): Promise<number> {
  const ramFile = hv.layout().ramFile;
  const ram = ramFile === undefined ? undefined : join(dir, ramFile);
  return ram !== undefined && existsSync(ram) ? dataBytes(ram) : memoryBytes;
}

/** What making the standby payload in `standbyDir` loadable writes: the raw memory, when it is stored compressed. */
export function decompressBytes(hv: Hypervisor, standbyDir: string, memoryBytes: number): number {
  return storedMemoryForm(standbyDir, hv.memoryFile)?.kind === "compressed" ? memoryBytes : 0;
}
