// A new instance's row, as create and fork commit it: identity and stored metadata, no runtime state yet.
import type { InstanceRow, StoredMetadata } from "../../store/schema.ts";

export function newInstanceRow(identity: Pick<InstanceRow, "id" | "name" | "createdAt">, stored: StoredMetadata): InstanceRow {
  return { ...stored, ...identity, pid: null, rowState: "ready", stateError: null, startedAt: null, stoppedAt: null };
}
