// Checks a SavedVm read from a payload (by core, through the store) before a driver acts on it: one of this
// driver's, with a version and a config. Whatever does not pass cannot be restored here: "incompatible".
import { HypervisorError, type HypervisorType, type SavedVm, type StoredVm } from "./hypervisor.ts";

export function verifySavedVm(stored: StoredVm, hypervisor: HypervisorType): SavedVm {
  if (stored.hypervisor !== hypervisor) {
    throw new HypervisorError("incompatible", `snapshot was written by hypervisor ${JSON.stringify(stored.hypervisor)}, not ${hypervisor}`);
  }
  const config = stored.config as Partial<SavedVm["config"]> | null;
  if (typeof stored.version !== "string" || typeof config !== "object" || config === null || !Array.isArray(config.disks)) {
    throw new HypervisorError("incompatible", `not a complete ${hypervisor} saved-VM record`);
  }
  const detail = stored.detail;
  if (detail !== undefined && (typeof detail !== "object" || detail === null)) {
    throw new HypervisorError("incompatible", `${hypervisor} saved-VM record has a malformed detail`);
  }
  return stored as SavedVm;
}
