// Snapshot transfer jobs (pushes to and pulls from remotes): one row per job, its progress updated as chunks go.
import { and, asc, eq, gt, inArray, or, type SQL } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { transferJobs, type TransferJobRow } from "./schema.ts";

export type NewTransferJob = typeof transferJobs.$inferInsert;
export type TransferProgress = Pick<TransferJobRow, "bytesDone" | "bytesTotal" | "chunksDone" | "chunksTotal" | "bytesTransferred">;

export class TransferJobsRepo {
  readonly get: (id: string) => TransferJobRow | undefined;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, transferJobs, transferJobs.id);
  }

  insert(job: NewTransferJob): void {
    this.db.insert(transferJobs).values(job).run();
  }

  update(id: string, patch: Partial<Omit<NewTransferJob, "id">>): void {
    this.db.update(transferJobs).set(patch).where(eq(transferJobs.id, id)).run();
  }

  /** Jobs oldest first (created_at, then id), optionally in one state, after a position of an earlier page. */
  list(filter: { state?: TransferJobRow["state"] }, page: { limit: number; after?: { createdAt: Date; id: string } }): TransferJobRow[] {
    const where: SQL[] = [];
    if (filter.state !== undefined) where.push(eq(transferJobs.state, filter.state));
    const { after } = page;
    if (after) {
      where.push(or(gt(transferJobs.createdAt, after.createdAt), and(eq(transferJobs.createdAt, after.createdAt), gt(transferJobs.id, after.id)))!);
    }
    return this.db
      .select()
      .from(transferJobs)
      .where(and(...where))
      .orderBy(asc(transferJobs.createdAt), asc(transferJobs.id))
      .limit(page.limit)
      .all();
  }

  /** Pending and running jobs, oldest first: what a restart runs again. */
  unfinished(): TransferJobRow[] {
    return this.db.select().from(transferJobs).where(inArray(transferJobs.state, ["pending", "running"])).orderBy(transferJobs.createdAt).all();
  }

  /** The unfinished job moving `snapshotId` the same way with the same remote, if any. */
  unfinishedFor(kind: TransferJobRow["kind"], snapshotId: string, remote: string): TransferJobRow | undefined {
    return this.unfinished().find((job) => job.kind === kind && job.snapshotId === snapshotId && job.remote === remote);
  }
}
