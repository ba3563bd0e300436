// What a payload dir holds, by name: a guest dir (<data>/guests/<id>/) and its copies (a snapshot's guest/, a
// fork's new guest dir) carry the same files. The only module that knows these names; records are read and
// written by the sibling modules of this folder.
//
// <guest dir>/
//   vm.json              instance record: the VM's hardware and the instance row it rebuilds (instance-record.ts)
//   <hv>-vm.json         launch record: what the VMM running here runs, for adoption (vm-record.ts)
//   disk.raw             writable disk (sparse)
//   logs/                serial console and VMM output; runtime, never copied
//   standby/             while in Standby: the VMM's memory and state files + vm.json, the saved-VM record
//                        (vm-record.ts), written last; memory in one of its forms (memory-forms.ts)
// <snapshot dir>/
//   snapshot.json        snapshot record: name, kind, tags, source (snapshot-record.ts)
//   manifest.json        hashes per file and 4 MiB chunk, restore requirements (manifest.ts); absent until hashed
//   local-state.json     this host's facts about it: pinned, origin, schedule (local-state.ts); never hashed or sent
//   guest/               a copy of the guest dir at capture time
// <image dir>/
//   image.json           image record: its files and cmdline (image-record.ts)
import { join } from "node:path";

export const GUEST_FILES = {
  /** Instance record: VM config and the instance's identity. */
  vmConfig: "vm.json",
  /** Standby payload written by the hypervisor: memory, device state, saved-VM record. */
  standbyDir: "standby",
  logsDir: "logs",
} as const;

/** In a standby dir, beside the VMM's files. */
export const SAVED_VM_RECORD = "vm.json";
/** In a snapshot dir, beside its guest/ copy. */
export const SNAPSHOT_RECORD = "snapshot.json";
/** In a snapshot dir, beside snapshot.json: hashes and restore requirements (manifest.ts), written after the payload. */
export const MANIFEST_RECORD = "manifest.json";
/** In a snapshot dir, beside snapshot.json: what this host decided about it (pin, who took it), rewritten on PATCH. */
export const LOCAL_STATE_RECORD = "local-state.json";
/** In an image dir, beside its kernel, initrd and rootfs. */
export const IMAGE_RECORD = "image.json";
/** The guest-dir copy inside a snapshot dir. */
export const SNAPSHOT_GUEST_DIR = "guest";

/** Per hypervisor type: names kept from format version 1, so a VMM started by an older server is still adopted. */
const LAUNCH_RECORDS: Record<string, string> = {
  qemu: "qemu-vm.json",
  "cloud-hypervisor": "ch-vm.json",
  firecracker: "fc-vm.json",
};

/** The launch record of a guest dir whose VMM is of `hypervisor`. */
export function launchRecordPath(guestDir: string, hypervisor: string): string {
  return join(guestDir, LAUNCH_RECORDS[hypervisor] ?? `${hypervisor}-vm.json`);
}

export function standbyPath(guestDir: string): string {
  return join(guestDir, GUEST_FILES.standbyDir);
}
