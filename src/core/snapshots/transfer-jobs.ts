// Pushes and pulls run as jobs: a row in transfer_jobs from the request on, progress as chunks go, and an end
// state (`done`, or `error` with the reason). The service stopping leaves unfinished rows as they are, and the
// next start runs them again: a push then sends only the chunks the remote still lacks; a pull starts over in a
// new staging dir (the old one went with tmp/ at start-up). What a job does is runTransfer() (transfer-run.ts),
// handed in by the composition root.
import type { TransferJobRow } from "../../store/schema.ts";
import type { TransferJobsRepo } from "../../store/transfer-jobs-repo.ts";
import type { Logger } from "../service/logger.ts";
import { rowReporter, type TransferReporter } from "./transfer-progress.ts";

export type TransferKind = TransferJobRow["kind"];

export interface TransferJobsDeps {
  repo: TransferJobsRepo;
  logger: Logger;
  clock: () => Date;
  newId: () => string;
  run: (job: TransferJobRow, report: TransferReporter, signal: AbortSignal) => Promise<void>;
}

export class TransferJobs {
  private readonly active = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly deps: TransferJobsDeps) {}

  get(id: string): TransferJobRow | undefined {
    return this.deps.repo.get(id);
  }

  list(state: TransferJobRow["state"] | undefined, page: { limit: number; after?: { createdAt: Date; id: string } }): TransferJobRow[] {
    return this.deps.repo.list({ state }, page);
  }

  /**
   * Starts a transfer, or returns the unfinished one moving the same snapshot the same way (asking twice does not
   * run it twice). The caller has checked what can be checked up front (the snapshot, the remote's name).
   */
  start(kind: TransferKind, snapshotId: string, remote: string): TransferJobRow {
    const running = this.deps.repo.unfinishedFor(kind, snapshotId, remote);
    if (running) return running;
    const now = this.deps.clock();
    const row: TransferJobRow = {
      id: this.deps.newId(),
      kind,
      snapshotId,
      remote,
      state: "pending",
      bytesDone: 0,
      bytesTotal: 0,
      chunksDone: 0,
      chunksTotal: 0,
      bytesTransferred: 0,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    this.deps.repo.insert(row);
    this.run(row);
    return row;
  }

  /** Waits for a job this process runs to end (tests and benchmarks, which would otherwise poll); a no-op otherwise. */
  async settled(id: string): Promise<void> {
    await this.active.get(id)?.done;
  }

  /** Jobs that were pending or running when the last process ended: the next start runs them again. */
  unfinishedIds(): string[] {
    return this.deps.repo.unfinished().map((row) => row.id);
  }

  /** At start-up: every job that was pending or running when the last process ended runs again. */
  resumeAfterRestart(): void {
    for (const row of this.deps.repo.unfinished()) {
      this.deps.logger.info("resuming snapshot transfer", { job: row.id, kind: row.kind, snapshot: row.snapshotId, remote: row.remote });
      this.run(row);
    }
  }

  /** Service shutdown: stops every job, leaving its row unfinished so the next start runs it again. */
  async stopAll(): Promise<void> {
    const jobs = [...this.active.values()];
    for (const job of jobs) job.abort.abort(new Error("service stopping"));
    await Promise.all(jobs.map((job) => job.done));
  }

  private run(row: TransferJobRow): void {
    if (this.active.has(row.id)) return;
    const abort = new AbortController();
    const job = { abort, done: Promise.resolve() };
    this.active.set(row.id, job);
    job.done = this.execute(row, abort.signal).finally(() => this.active.delete(row.id));
  }

  private async execute(row: TransferJobRow, signal: AbortSignal): Promise<void> {
    const { repo, logger, clock } = this.deps;
    const fields = { job: row.id, kind: row.kind, snapshot: row.snapshotId, remote: row.remote };
    const update = (patch: Partial<TransferJobRow>) => repo.update(row.id, { ...patch, updatedAt: clock() });
    try {
      update({ state: "running", error: null });
      await this.deps.run(row, rowReporter(repo, row.id, logger, clock), signal);
      update({ state: "done" });
      logger.info("snapshot transfer done", fields);
    } catch (err) {
      if (signal.aborted) return; // stopping: the row stays unfinished for the next start
      const message = err instanceof Error ? err.message : String(err);
      logger.error("snapshot transfer failed", { ...fields, error: message });
      try {
        update({ state: "error", error: message });
      } catch (recordErr) {
        logger.error("snapshot transfer could not record its end", { job: row.id, error: String(recordErr) });
      }
    }
  }
}
