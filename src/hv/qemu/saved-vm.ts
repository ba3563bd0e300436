// The one home of the QEMU driver's records: what a VMM runs (written into the guest dir before it starts, so a
// later server process can adopt it and snapshot it) and what a snapshot holds (`vm.json` next to `memory`). Both
// are a SavedVm; whether a snapshot can be loaded by this host's QEMU is decided here too.
import { isAbsolute, join, relative } from "node:path";
import { writeFileAtomic } from "../../fs/atomic.ts";
import { HypervisorError, type SavedVm, type VmConfig } from "../hypervisor.ts";
import type { QemuMachine } from "./argv.ts";

/** In a snapshot dir, beside the memory file. */
export const SNAPSHOT_RECORD = "vm.json";
/** In the guest dir: the hardware of the VMM running there. */
export const LAUNCH_RECORD = "qemu-vm.json";

export type QemuDetail = QemuMachine & {
  /** The command line that wrote the snapshot, for the record (restore rebuilds it for its own dir). */
  argv: string[];
};

export interface QemuSavedVm extends SavedVm {
  hypervisor: "qemu";
  detail: QemuDetail;
}

export function savedVm(version: string, config: VmConfig, detail: QemuDetail): QemuSavedVm {
  return { hypervisor: "qemu", version, config, detail };
}

export async function writeRecord(path: string, record: QemuSavedVm): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads a record; anything that is not a QEMU record of ours is "incompatible". */
export async function readRecord(path: string): Promise<QemuSavedVm> {
  let record: Partial<SavedVm>;
  try {
    record = (await Bun.file(path).json()) as Partial<SavedVm>;
  } catch (err) {
    throw new HypervisorError("failed", `read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (record.hypervisor !== "qemu") {
    throw new HypervisorError("incompatible", `snapshot was written by hypervisor ${JSON.stringify(record.hypervisor)}, not qemu`);
  }
  const detail = record.detail as Partial<QemuDetail> | undefined;
  if (typeof record.version !== "string" || !record.config || typeof detail?.machine !== "string" || (detail.accel !== "kvm" && detail.accel !== "tcg")) {
    throw new HypervisorError("incompatible", `${path} is not a complete QEMU snapshot record`);
  }
  return record as unknown as QemuSavedVm;
}

export interface LoadingHost {
  version: string;
  machines: Set<string>;
  kvmUsable: boolean;
}

/**
 * Why this host's QEMU cannot load `saved`, or null. Another QEMU version is fine as long as it still emulates
 * the saved (versioned) machine type (qemu-notes.md §5); a KVM snapshot needs KVM (`-cpu host` state).
 */
export function restoreRefusal(saved: QemuSavedVm, host: LoadingHost): string | null {
  const { machine, accel } = saved.detail;
  if (saved.version !== host.version && !host.machines.has(machine)) {
    return `snapshot was written by QEMU ${saved.version} with machine ${machine}, which QEMU ${host.version} cannot load`;
  }
  if (accel === "kvm" && !host.kvmUsable) return `snapshot was written under KVM, which this host cannot use`;
  return null;
}

/** A fork's saved config names disks by the new guest dir; disks outside the old dir (shared bases) stay. */
export function rebaseDisks(config: VmConfig, fromDir: string, toDir: string): VmConfig {
  const disks = config.disks.map((disk) => {
    if (!isAbsolute(disk.path)) return disk;
    const inside = relative(fromDir, disk.path);
    if (inside.startsWith("..") || isAbsolute(inside)) return disk;
    return { ...disk, path: join(toDir, inside) };
  });
  return { ...config, disks };
}
