// Reading snapshots: by id (unsafe ids are simply not found) and listed with filters; each with its ref_count.
import { isSafeId } from "../../store/paths.ts";
import type { SnapshotRow } from "../../store/schema.ts";
import type { SnapshotFilter } from "../../store/snapshots-repo.ts";
import type { CoreContext } from "../service/context.ts";
import { notFound } from "../errors.ts";
import type { Page } from "../instances/list.ts";

export interface SnapshotView extends Omit<SnapshotRow, "rowState" | "storedMetadata"> {
  /** Instances forked directly from this snapshot that still exist. */
  refCount: number;
}

export type { SnapshotFilter };
export { COMPRESSION_STATES, SNAPSHOT_KINDS, SNAPSHOT_ORIGINS } from "../../store/schema.ts";

/** The stored row; ids that are not a single safe path component are not found and touch nothing. */
export function snapshotRow(ctx: CoreContext, id: string): SnapshotRow {
  const row = isSafeId(id) ? ctx.snapshots.get(id) : undefined;
  if (!row || row.rowState === "deleting") throw notFound("snapshot not found");
  return row;
}

function views(ctx: CoreContext, rows: SnapshotRow[]): SnapshotView[] {
  const counts = ctx.snapshots.refCounts(rows.map((r) => r.id));
  return rows.map(({ rowState: _r, storedMetadata: _m, ...rest }) => ({ ...rest, refCount: counts.get(rest.id) ?? 0 }));
}

export function getSnapshot(ctx: CoreContext, id: string): SnapshotView {
  return views(ctx, [snapshotRow(ctx, id)])[0]!;
}

export function listSnapshots(
  ctx: CoreContext,
  filter: SnapshotFilter,
  page: { limit?: number; after?: { createdAt: Date; id: string } } = {},
): Page<SnapshotView> {
  const rows = ctx.snapshots.list(filter, page);
  const last = rows.at(-1);
  return {
    items: views(ctx, rows),
    ...(page.limit !== undefined && rows.length === page.limit && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}),
  };
}
