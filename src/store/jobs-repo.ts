// Persisted compression jobs, keyed `instance:<id>` / `snapshot:<id>` (at most one per key).
import { eq, inArray } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { jobs, type JobRow } from "./schema.ts";

export type NewJobRow = typeof jobs.$inferInsert;

export class JobsRepo {
  readonly get: (key: string) => JobRow | undefined;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, jobs, jobs.key);
  }

  /** Replaces any finished job under the same key. */
  put(row: NewJobRow): void {
    this.db.insert(jobs).values(row).onConflictDoUpdate({ target: jobs.key, set: row }).run();
  }

  unfinished(): JobRow[] {
    return this.db.select().from(jobs).where(inArray(jobs.state, ["pending", "running"])).all();
  }

  update(key: string, patch: Partial<NewJobRow>): void {
    this.db.update(jobs).set(patch).where(eq(jobs.key, key)).run();
  }

  remove(key: string): void {
    this.db.delete(jobs).where(eq(jobs.key, key)).run();
  }
}
