// The saved-VM record (what a standby dir's memory and state were written by: hypervisor, VMM version, hardware,
// driver detail) and the launch record (the same for the VMM running in a guest dir). The store keeps the
// envelope; `config` and `detail` are the drivers' to check (hv never reads these files itself).
import { join } from "node:path";
import { z } from "zod";
import { launchRecordPath, SAVED_VM_RECORD } from "./layout.ts";
import { formatVersionOf, readRecord, writeRecord } from "./record-file.ts";

const VmRecordFile = z
  .object({
    format_version: z.number().int().positive().optional(),
    hypervisor: z.string(),
    version: z.string(),
    config: z.record(z.string(), z.unknown()),
    detail: z.record(z.string(), z.unknown()).optional(),
    /** v2: the raw memory file's name in the standby dir (absent in launch records). */
    memory_file: z.string().optional(),
    /** What that file is (hv's MemoryKind); absent: a migration stream, as every payload before RAM files. */
    memory_kind: z.string().optional(),
    created_at: z.iso.datetime().optional(),
  })
  .transform((r) => ({
    formatVersion: formatVersionOf(r.format_version),
    hypervisor: r.hypervisor,
    version: r.version,
    config: r.config,
    ...(r.detail ? { detail: r.detail } : {}),
    ...(r.memory_file ? { memoryFile: r.memory_file } : {}),
    ...(r.memory_kind ? { memoryKind: r.memory_kind } : {}),
    ...(r.created_at ? { createdAt: new Date(r.created_at) } : {}),
  }));

export type VmRecord = z.output<typeof VmRecordFile>;

/** What a driver hands over to be recorded (hv's SavedVm fits). */
export interface VmRecordBody {
  hypervisor: string;
  version: string;
  config: object;
  detail?: object;
  memoryKind?: string;
}

function fieldsOf(vm: VmRecordBody, createdAt: Date | undefined): Record<string, unknown> {
  const { hypervisor, version, config, detail } = vm;
  return { hypervisor, version, config, ...(detail ? { detail } : {}), ...(createdAt ? { created_at: createdAt.toISOString() } : {}) };
}

/**
 * Written last into a standby dir: its presence says the memory and state beside it are complete. `createdAt`
 * is when they were written (unknown for a rewritten version-1 record).
 */
export async function writeSavedVm(standbyDir: string, vm: VmRecordBody, memoryFile: string, createdAt: Date | undefined): Promise<void> {
  const kind = vm.memoryKind ? { memory_kind: vm.memoryKind } : {};
  await writeRecord(join(standbyDir, SAVED_VM_RECORD), { ...fieldsOf(vm, createdAt), memory_file: memoryFile, ...kind });
}

export function readSavedVm(standbyDir: string): Promise<VmRecord> {
  return readRecord(join(standbyDir, SAVED_VM_RECORD), VmRecordFile, "saved-VM record");
}

export async function writeLaunchRecord(guestDir: string, vm: VmRecordBody, createdAt: Date): Promise<void> {
  await writeRecord(launchRecordPath(guestDir, vm.hypervisor), fieldsOf(vm, createdAt));
}

export function readLaunchRecord(guestDir: string, hypervisor: string): Promise<VmRecord> {
  return readRecord(launchRecordPath(guestDir, hypervisor), VmRecordFile, "launch record");
}
