// Persisted compression jobs, at most one per key. Callers name a job by a typed key; the table keeps it as the
// text `<kind>:<id>`, and only this module converts between the two.
import { eq, inArray } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { jobs, type JobRow } from "./schema.ts";

/** What a job compresses: an instance's standby memory or a stored snapshot's memory. */
export interface JobKey {
  kind: "instance" | "snapshot";
  id: string;
}

export type Job = Omit<JobRow, "key"> & { key: JobKey };
export type NewJob = Omit<typeof jobs.$inferInsert, "key"> & { key: JobKey };

export class JobsRepo {
  private readonly byKey: (key: string) => JobRow | undefined;

  constructor(private readonly db: Db) {
    this.byKey = lookupBy(db, jobs, jobs.key);
  }

  get(key: JobKey): Job | undefined {
    const row = this.byKey(jobKeyText(key));
    return row && { ...row, key };
  }

  /** Replaces any finished job under the same key. */
  put(job: NewJob): void {
    const row = { ...job, key: jobKeyText(job.key) };
    this.db.insert(jobs).values(row).onConflictDoUpdate({ target: jobs.key, set: row }).run();
  }

  /** Pending and running jobs; a row whose key this version cannot read is left alone. */
  unfinished(): Job[] {
    const rows = this.db.select().from(jobs).where(inArray(jobs.state, ["pending", "running"])).all();
    return rows.flatMap((row) => {
      const key = parseKey(row.key);
      return key ? [{ ...row, key }] : [];
    });
  }

  update(key: JobKey, patch: Partial<Omit<NewJob, "key">>): void {
    this.db.update(jobs).set(patch).where(eq(jobs.key, jobKeyText(key))).run();
  }
}

/** The key as the table stores it (also a handy map key and log field). */
export const jobKeyText = (key: JobKey) => `${key.kind}:${key.id}`;

function parseKey(text: string): JobKey | undefined {
  const [kind, id] = text.split(":", 2);
  return (kind === "instance" || kind === "snapshot") && id ? { kind, id } : undefined;
}
