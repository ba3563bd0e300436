// Instance rows. Core reads and writes instances only through this module.
import { and, asc, eq, gt, like, ne, or } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { forks, instances, type InstanceRow } from "./schema.ts";

export type NewInstanceRow = typeof instances.$inferInsert;

export class InstancesRepo {
  readonly get: (id: string) => InstanceRow | undefined;
  readonly byName: (name: string) => InstanceRow | undefined;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, instances, instances.id);
    this.byName = lookupBy(db, instances, instances.name);
  }

  insert(row: NewInstanceRow): void {
    this.db.insert(instances).values(row).run();
  }

  /** Ids starting with `prefix` (at most `max`, enough to tell unique from ambiguous). */
  idsWithPrefix(prefix: string, max = 2): string[] {
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    return this.db
      .select({ id: instances.id })
      .from(instances)
      .where(like(instances.id, `${escaped}%`))
      .limit(max)
      .all()
      .map((r) => r.id);
  }

  /** Rows in any row state, for reconciliation. */
  all(): InstanceRow[] {
    return this.db.select().from(instances).all();
  }

  /** Visible rows, ordered by created_at then id; `after` is the (created_at, id) of the last row of the previous page. */
  list(opts: { limit?: number; after?: { createdAt: Date; id: string } } = {}): InstanceRow[] {
    const { after } = opts;
    const q = this.db
      .select()
      .from(instances)
      .where(
        and(
          ne(instances.rowState, "deleting"),
          after
            ? or(gt(instances.createdAt, after.createdAt), and(eq(instances.createdAt, after.createdAt), gt(instances.id, after.id)))
            : undefined,
        ),
      )
      .orderBy(asc(instances.createdAt), asc(instances.id));
    return opts.limit === undefined ? q.all() : q.limit(opts.limit).all();
  }

  update(id: string, patch: Partial<NewInstanceRow>): void {
    this.db.update(instances).set(patch).where(eq(instances.id, id)).run();
  }

  /** Removes the row and its fork link in one transaction. */
  remove(id: string): void {
    this.db.transaction((tx) => {
      tx.delete(forks).where(eq(forks.instanceId, id)).run();
      tx.delete(instances).where(eq(instances.id, id)).run();
    });
  }
}
