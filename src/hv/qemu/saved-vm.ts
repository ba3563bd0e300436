// What the QEMU driver records and checks: the SavedVm of a QEMU (its machine type, accel and argv as detail),
// whether this host's QEMU can load one, and how a fork's copy names its disks. The files themselves are the
// store's (payload records); everything here is pure.
import { isAbsolute, join, relative } from "node:path";
import { HypervisorError, type SavedVm, type StoredVm, type VmConfig } from "../hypervisor.ts";
import { verifySavedVm } from "../saved-vm-record.ts";
import type { RamFile } from "../hypervisor.ts";
import type { QemuMachine } from "./argv.ts";

export type QemuDetail = QemuMachine & {
  /** The command line that wrote the snapshot, for the record (restore rebuilds it for its own dir). */
  argv: string[];
  /** The RAM file the VM ran on; absent: anonymous RAM (`-m` alone). */
  ram?: RamFile;
};

const MEMORY_KINDS: readonly (string | undefined)[] = [undefined, "migration-stream", "ram-file"];

export interface QemuSavedVm extends SavedVm {
  hypervisor: "qemu";
  detail: QemuDetail;
}

export function savedVm(version: string, config: VmConfig, detail: QemuDetail): QemuSavedVm {
  return { hypervisor: "qemu", version, config, detail };
}

/** Anything that is not a complete QEMU record (machine type, accel, argv) is "incompatible". */
export function verifyQemuSavedVm(stored: StoredVm): QemuSavedVm {
  const saved = verifySavedVm(stored, "qemu");
  const detail = saved.detail as Partial<QemuDetail> | undefined;
  if (typeof detail?.machine !== "string" || (detail.accel !== "kvm" && detail.accel !== "tcg") || !Array.isArray(detail.argv)) {
    throw new HypervisorError("incompatible", "not a complete QEMU saved-VM record: machine, accel and argv are needed");
  }
  if (!MEMORY_KINDS.includes(stored.memoryKind)) {
    throw new HypervisorError("incompatible", `QEMU saved-VM record has memory kind ${JSON.stringify(stored.memoryKind)}, which this server does not know`);
  }
  return saved as QemuSavedVm;
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
