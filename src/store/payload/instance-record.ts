// The instance record, `vm.json` in a guest dir: the VM's hardware (what every start and restore boots) and,
// since format version 2, the instance row it belongs to, so the index can be rebuilt from the files. Version 1
// files hold the hardware alone. Copies of a guest dir carry it too: a snapshot's guest/vm.json is the source
// instance at capture time; a fork rewrites its own.
import { join } from "node:path";
import { z } from "zod";
import type { InstanceRow, NetworkSettings, SnapshotPolicy } from "../schema.ts";
import { GUEST_FILES } from "./layout.ts";
import { formatVersionOf, readRecord, writeRecord } from "./record-file.ts";

const InstanceIdentity = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  hypervisor: z.string(),
  vcpus: z.number().int(),
  memoryBytes: z.number().int(),
  overlayBytes: z.number().int(),
  env: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
  /** Normalised when the instance was created; ours, so only its shape is checked. */
  snapshotPolicy: z.custom<SnapshotPolicy | null>((v) => v === null || (typeof v === "object" && !Array.isArray(v))),
  skipGuestAgent: z.boolean(),
  /** Absent in records written before networking: those instances have no network device. */
  network: z.custom<NetworkSettings | null>((v) => v === null || (typeof v === "object" && !Array.isArray(v))).default(null),
  createdAt: z.iso.datetime().transform((s) => new Date(s)),
  /** The snapshot this instance was forked from (its fork link), null otherwise. */
  forkOfSnapshot: z.string().nullable(),
});

export type InstanceIdentity = z.output<typeof InstanceIdentity>;

const InstanceRecordFile = z
  .preprocess(
    // Version 1: the hardware alone, at the top level.
    (json) => (json && typeof json === "object" && !("format_version" in json) ? { config: json } : json),
    z.object({
      format_version: z.number().int().positive().optional(),
      config: z.record(z.string(), z.unknown()),
      instance: InstanceIdentity.optional(),
    }),
  )
  .transform((r) => ({ formatVersion: formatVersionOf(r.format_version), config: r.config, instance: r.instance }));

export type InstanceRecord = z.output<typeof InstanceRecordFile>;

/** The identity of `row`, as the record keeps it. */
export function identityOf(row: InstanceRow, forkOfSnapshot: string | null): InstanceIdentity {
  const { id, name, image, hypervisor, vcpus, memoryBytes, overlayBytes, env, tags, snapshotPolicy, skipGuestAgent, network, createdAt } = row;
  return { id, name, image, hypervisor, vcpus, memoryBytes, overlayBytes, env, tags, snapshotPolicy: snapshotPolicy ?? null, skipGuestAgent, network: network ?? null, createdAt, forkOfSnapshot };
}

export async function writeInstanceRecord(guestDir: string, config: object, instance: InstanceIdentity): Promise<void> {
  await writeRecord(join(guestDir, GUEST_FILES.vmConfig), { config, instance: { ...instance, createdAt: instance.createdAt.toISOString() } });
}

export function readInstanceRecord(guestDir: string): Promise<InstanceRecord> {
  return readRecord(join(guestDir, GUEST_FILES.vmConfig), InstanceRecordFile, "instance record");
}
