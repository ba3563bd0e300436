// SavedVm records of the Cloud Hypervisor and Firecracker drivers, as JSON files: `vm.json` next to a snapshot's
// files (what restore and checkRestorable read) and a launch record in the guest dir (what a VMM there runs, so a
// later server process can adopt it and still snapshot it with the right version and config).
import { writeFileAtomic } from "../fs/atomic.ts";
import { HypervisorError, type HypervisorType, type SavedVm } from "./hypervisor.ts";

/** In a snapshot dir, beside the VMM's own files. */
export const SNAPSHOT_RECORD = "vm.json";

export async function writeSavedVm(path: string, record: SavedVm): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads a record; one that is missing, unreadable or of another hypervisor cannot be restored here: "incompatible". */
export async function readSavedVm(path: string, hypervisor: HypervisorType): Promise<SavedVm> {
  let record: Partial<SavedVm>;
  try {
    record = (await Bun.file(path).json()) as Partial<SavedVm>;
  } catch (err) {
    throw new HypervisorError("incompatible", `read snapshot record ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (record.hypervisor !== hypervisor) {
    throw new HypervisorError("incompatible", `snapshot was written by hypervisor ${JSON.stringify(record.hypervisor)}, not ${hypervisor}`);
  }
  if (typeof record.version !== "string" || typeof record.config !== "object" || record.config === null) {
    throw new HypervisorError("incompatible", `${path} is not a complete ${hypervisor} snapshot record`);
  }
  return record as SavedVm;
}
