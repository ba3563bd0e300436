// The snapshot record, `snapshot.json` beside a snapshot's guest/ copy: what the snapshot row holds that the
// copied instance record does not (its own name, kind, tags, source). With guest/vm.json it rebuilds the row.
import { join } from "node:path";
import { z } from "zod";
import { CODEC_NAMES } from "../codecs/codec-table.ts";
import { SNAPSHOT_KINDS } from "../schema.ts";
import { SNAPSHOT_RECORD } from "./layout.ts";
import { formatVersionOf, readRecord, writeRecord } from "./record-file.ts";

const SnapshotRecordFile = z
  .object({
    format_version: z.number().int().positive().optional(),
    id: z.string(),
    name: z.string().nullable(),
    kind: z.enum(SNAPSHOT_KINDS),
    tags: z.record(z.string(), z.string()),
    sourceInstanceId: z.string(),
    sourceInstanceName: z.string(),
    sourceHypervisor: z.string(),
    sourceHypervisorVersion: z.string().nullable(),
    /** The compression asked for at capture, null for none (absent in older records): the codec alone does not
     * say what level its file was written with, so a rebuilt index reads it here. */
    compression: z.object({ enabled: z.literal(true), algorithm: z.enum(CODEC_NAMES), level: z.number().int() }).nullable().optional(),
    createdAt: z.iso.datetime(),
  })
  .transform(({ format_version, createdAt, ...rest }) => ({ ...rest, formatVersion: formatVersionOf(format_version), createdAt: new Date(createdAt) }));

export type SnapshotRecord = Omit<z.output<typeof SnapshotRecordFile>, "formatVersion">;

export async function writeSnapshotRecord(snapshotDir: string, record: SnapshotRecord): Promise<void> {
  await writeRecord(join(snapshotDir, SNAPSHOT_RECORD), { ...record, createdAt: record.createdAt.toISOString() });
}

export function readSnapshotRecord(snapshotDir: string): Promise<z.output<typeof SnapshotRecordFile>> {
  return readRecord(join(snapshotDir, SNAPSHOT_RECORD), SnapshotRecordFile, "snapshot record");
}
