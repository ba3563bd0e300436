// Snapshot rows and their fork links. ref_count is a query over the forks table, never a scan of files.
import { and, asc, count, eq, gt, inArray, ne, or, sql, type SQL } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { forks, snapshots, type ForkRow, type SnapshotRow } from "./schema.ts";

export type NewSnapshotRow = typeof snapshots.$inferInsert;

export interface SnapshotFilter {
  sourceInstanceId?: string;
  kind?: SnapshotRow["kind"];
  name?: string;
  origin?: SnapshotRow["origin"];
  /** All pairs must match exactly. */
  tags?: Record<string, string>;
}

export class SnapshotsRepo {
  readonly get: (id: string) => SnapshotRow | undefined;

  /** Prepared once for any number of ids: they travel as one JSON array parameter. */
  private readonly forkCounts;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, snapshots, snapshots.id);
    this.forkCounts = db
      .select({ snapshotId: forks.snapshotId, n: count() })
      .from(forks)
      .where(inArray(forks.snapshotId, sql`(SELECT value FROM json_each(${sql.placeholder("ids")}))`))
      .groupBy(forks.snapshotId)
      .prepare();
  }

  insert(row: NewSnapshotRow): void {
    this.db.insert(snapshots).values(row).run();
  }

  /** Rows in any row state, for reconciliation. */
  all(): SnapshotRow[] {
    return this.db.select().from(snapshots).all();
  }

  nameTaken(sourceInstanceId: string, name: string): boolean {
    const hit = this.db
      .select({ id: snapshots.id })
      .from(snapshots)
      .where(and(eq(snapshots.sourceInstanceId, sourceInstanceId), eq(snapshots.name, name)))
      .get();
    return hit !== undefined;
  }

  /** Visible rows (not being deleted), ordered by created_at then id. */
  list(filter: SnapshotFilter, page: { limit?: number; after?: { createdAt: Date; id: string } } = {}): SnapshotRow[] {
    const where: SQL[] = [ne(snapshots.rowState, "deleting")];
    if (filter.sourceInstanceId !== undefined) where.push(eq(snapshots.sourceInstanceId, filter.sourceInstanceId));
    if (filter.kind !== undefined) where.push(eq(snapshots.kind, filter.kind));
    if (filter.name !== undefined) where.push(eq(snapshots.name, filter.name));
    if (filter.origin !== undefined) where.push(eq(snapshots.origin, filter.origin));
    for (const [k, v] of Object.entries(filter.tags ?? {})) {
      where.push(sql`json_extract(${snapshots.tags}, ${jsonPath(k)}) = ${v}`);
    }
    const { after } = page;
    if (after) {
      where.push(
        or(gt(snapshots.createdAt, after.createdAt), and(eq(snapshots.createdAt, after.createdAt), gt(snapshots.id, after.id)))!,
      );
    }
    const q = this.db
      .select()
      .from(snapshots)
      .where(and(...where))
      .orderBy(asc(snapshots.createdAt), asc(snapshots.id));
    return page.limit === undefined ? q.all() : q.limit(page.limit).all();
  }

  update(id: string, patch: Partial<NewSnapshotRow>): void {
    this.db.update(snapshots).set(patch).where(eq(snapshots.id, id)).run();
  }

  remove(id: string): void {
    this.db.delete(snapshots).where(eq(snapshots.id, id)).run();
  }

  /** Number of existing instances forked directly from each of `ids`. */
  refCounts(ids: string[]): Map<string, number> {
    const counts = new Map(ids.map((id) => [id, 0]));
    if (ids.length === 0) return counts;
    for (const r of this.forkCounts.all({ ids: JSON.stringify(ids) })) counts.set(r.snapshotId, r.n);
    return counts;
  }

  /** The instances forked from a snapshot, oldest first. */
  forksOf(snapshotId: string): ForkRow[] {
    return this.db.select().from(forks).where(eq(forks.snapshotId, snapshotId)).orderBy(asc(forks.createdAt), asc(forks.instanceId)).all();
  }

  forkOf(instanceId: string): string | undefined {
    return this.db.select().from(forks).where(eq(forks.instanceId, instanceId)).get()?.snapshotId;
  }

  linkFork(instanceId: string, snapshotId: string, at: Date): void {
    this.db.insert(forks).values({ instanceId, snapshotId, createdAt: at }).run();
  }

  unlinkFork(instanceId: string): void {
    this.db.delete(forks).where(eq(forks.instanceId, instanceId)).run();
  }
}

/** A JSON path selecting one object key; tag keys are validated (no quotes) before they get here. */
function jsonPath(key: string): string {
  return `$."${key}"`;
}
