// Snapshot schedules, one per instance (reference §5.1, stored here instead of JSON files).
import { asc, eq } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { schedules, type ScheduleRow } from "./schema.ts";

export class SchedulesRepo {
  readonly get: (instanceId: string) => ScheduleRow | undefined;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, schedules, schedules.instanceId);
  }

  /** Ordered by instance id, like the reference's sorted schedule files. */
  all(): ScheduleRow[] {
    return this.db.select().from(schedules).orderBy(asc(schedules.instanceId)).all();
  }

  put(row: ScheduleRow): void {
    this.db.insert(schedules).values(row).onConflictDoUpdate({ target: schedules.instanceId, set: row }).run();
  }

  remove(instanceId: string): boolean {
    return this.db.delete(schedules).where(eq(schedules.instanceId, instanceId)).returning().all().length > 0;
  }
}
