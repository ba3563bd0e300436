// The snapshot's host-local record, `local-state.json` beside snapshot.json: the row's fields this host decides
// after the payload is hashed (a pin, toggled by PATCH) or that mean nothing elsewhere (which local schedule took
// it). snapshot.json stays as captured, so pinning never changes the manifest; this file is not in the manifest's
// file set, so it is neither exported nor pushed, and an imported or pulled snapshot starts manual and unpinned.
// A rebuilt index reads it, so a pin and a schedule's ownership survive the database.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { SNAPSHOT_ORIGINS, type SnapshotRow } from "../schema.ts";
import { LOCAL_STATE_RECORD } from "./layout.ts";
import { readRecord, writeRecord } from "./record-file.ts";

export type LocalState = Pick<SnapshotRow, "pinned" | "origin" | "scheduleId">;

/** What a snapshot dir without the record is: one taken before it existed, imported or pulled. */
export const DEFAULT_LOCAL_STATE: LocalState = { pinned: false, origin: "manual", scheduleId: null };

const LocalStateFile = z
  .object({
    format_version: z.number().int().positive().optional(),
    pinned: z.boolean(),
    origin: z.enum(SNAPSHOT_ORIGINS),
    scheduleId: z.string().nullable(),
  })
  .transform(({ pinned, origin, scheduleId }): LocalState => ({ pinned, origin, scheduleId }));

export async function writeLocalState(snapshotDir: string, state: LocalState): Promise<void> {
  await writeRecord(join(snapshotDir, LOCAL_STATE_RECORD), { pinned: state.pinned, origin: state.origin, scheduleId: state.scheduleId });
}

/** The record of `snapshotDir`, the default when there is none; a damaged one is a PayloadError. */
export async function readLocalState(snapshotDir: string): Promise<LocalState> {
  const path = join(snapshotDir, LOCAL_STATE_RECORD);
  if (!existsSync(path)) return DEFAULT_LOCAL_STATE;
  return readRecord(path, LocalStateFile, "snapshot local state");
}
