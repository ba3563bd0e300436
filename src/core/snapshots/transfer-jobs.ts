// Pushes and pulls run as jobs: a row in transfer_jobs from the request on, progress as chunks go, and an end
// state (`done`, or `error` with the reason). The service stopping leaves unfinished rows as they are, and the
// next start runs them again: a push then sends only the chunks the remote still lacks; a pull starts over in a
// new staging dir (the old one went with tmp/ at start-up).
import type { TransferJobRow } from "../../store/schema.ts";
import type { TransferJobsRepo } from "../../store/transfer-jobs-repo.ts";
import type { CoreContext } from "../service/context.ts";
import { pullSnapshot } from "./pull.ts";
import { pushSnapshot } from "./push.ts";
import { remoteStore } from "./remotes.ts";
import { rowReporter } from "./transfer-progress.ts";

export type TransferKind = TransferJobRow["kind"];

export class TransferJobs {
  private readonly active = new Map<string, { abort: AbortController; done: Promise<void> }>();

  /** `context` is read when a job runs: the jobs are part of the context they need. */
  constructor(
    private readonly repo: TransferJobsRepo,
    private readonly context: () => CoreContext,
  ) {}

  get(id: string): TransferJobRow | undefined {
    return this.repo.get(id);
  }

  /**
   * Starts a transfer, or returns the unfinished one moving the same snapshot the same way (asking twice does not
   * run it twice). The caller has checked what can be checked up front (the snapshot, the remote's name).
   */
  start(kind: TransferKind, snapshotId: string, remote: string): TransferJobRow {
    const running = this.repo.unfinishedFor(kind, snapshotId, remote);
    if (running) return running;
    const ctx = this.context();
    const now = ctx.clock();
    const row: TransferJobRow = {
      id: ctx.newId(),
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
    this.repo.insert(row);
    this.run(row);
    return row;
  }

  /** Waits for a job started by this process to end (tests, the CLI's server-side twin); a no-op otherwise. */
  async settled(id: string): Promise<void> {
    await this.active.get(id)?.done;
  }

  /** At start-up: every job that was pending or running when the last process ended runs again. */
  resumeAfterRestart(): void {
    for (const row of this.repo.unfinished()) {
      this.context().logger.info("resuming snapshot transfer", { job: row.id, kind: row.kind, snapshot: row.snapshotId, remote: row.remote });
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
    const ctx = this.context();
    const update = (patch: Partial<TransferJobRow>) => this.repo.update(row.id, { ...patch, updatedAt: ctx.clock() });
    const report = rowReporter(this.repo, row.id, ctx.logger, ctx.clock);
    try {
      update({ state: "running", error: null });
      const remote = remoteStore(ctx, row.remote);
      if (row.kind === "push") await pushSnapshot(ctx, row.snapshotId, remote, report, signal);
      else await pullSnapshot(ctx, row.snapshotId, remote, report, signal);
      update({ state: "done" });
      ctx.logger.info("snapshot transfer done", { job: row.id, kind: row.kind, snapshot: row.snapshotId, remote: row.remote });
    } catch (err) {
      if (signal.aborted) return; // stopping: the row stays unfinished for the next start
      const message = err instanceof Error ? err.message : String(err);
      ctx.logger.error("snapshot transfer failed", { job: row.id, kind: row.kind, snapshot: row.snapshotId, remote: row.remote, error: message });
      try {
        update({ state: "error", error: message });
      } catch (recordErr) {
        ctx.logger.error("snapshot transfer could not record its end", { job: row.id, error: String(recordErr) });
      }
    }
  }
}
