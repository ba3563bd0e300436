// Snapshot transfer jobs (pushes to and pulls from remotes): one row per job, its progress updated as chunks go.
import { eq, inArray } from "drizzle-orm";
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

  /** Pending and running jobs, oldest first: what a restart runs again. */
  unfinished(): TransferJobRow[] {
    return this.db.select().from(transferJobs).where(inArray(transferJobs.state, ["pending", "running"])).orderBy(transferJobs.createdAt).all();
  }

  /** The unfinished job moving `snapshotId` the same way with the same remote, if any. */
  unfinishedFor(kind: TransferJobRow["kind"], snapshotId: string, remote: string): TransferJobRow | undefined {
    return this.unfinished().find((job) => job.kind === kind && job.snapshotId === snapshotId && job.remote === remote);
  }
}
