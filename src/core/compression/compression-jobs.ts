// Background compression of memory files (reference §7.3–7.5, product.md §4.2/§4.4): a queue of at most one job
// per key (an instance's standby memory, or a stored snapshot's), persisted in the jobs table so a restart resumes
// or resets it. Cancelling at any point keeps the raw file. Operations that need raw memory go through
// takeRawMemory(), which cancels the job first.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { jobKeyText as keyId, type JobKey, type JobsRepo } from "../../store/jobs-repo.ts";
import type { EnabledCompression } from "../../store/schema.ts";
import type { SnapshotsRepo } from "../../store/snapshots-repo.ts";
import type { StandbyPlan } from "./compression-policy.ts";
import { compressMemory, makeMemoryRaw } from "./memory-codec.ts";
import { recordSnapshotMemory, type SnapshotMemory } from "./snapshot-memory-record.ts";
import { inStep } from "../errors.ts";
import type { Logger } from "../service/logger.ts";
import type { Metrics } from "../service/metrics.ts";

interface JobSpec {
  key: JobKey;
  /** Directory holding the raw memory file. */
  dir: string;
  memoryFile: string;
  hypervisor: string;
  policy: EnabledCompression;
  notBefore: Date;
}

interface ActiveJob {
  abort: AbortController;
  done: Promise<void>;
  phase: "pending" | "running";
}

type Outcome = "compressed" | "canceled" | "skipped" | "error";

export interface CompressionJobsDeps {
  jobs: JobsRepo;
  snapshots: SnapshotsRepo;
  hypervisorMemoryFile: (type: string) => string;
  metrics: Metrics;
  logger: Logger;
  clock: () => Date;
}

export class CompressionJobs {
  private readonly active = new Map<string, ActiveJob>();

  constructor(private readonly deps: CompressionJobsDeps) {}

  scheduleStandby(instanceId: string, dir: string, hypervisor: string, plan: StandbyPlan): void {
    const notBefore = new Date(this.deps.clock().getTime() + plan.delayMs);
    this.start(this.spec({ kind: "instance", id: instanceId }, dir, hypervisor, plan.policy, notBefore));
  }

  scheduleSnapshot(snapshotId: string, dir: string, hypervisor: string, policy: EnabledCompression): void {
    this.start(this.spec({ kind: "snapshot", id: snapshotId }, dir, hypervisor, policy, this.deps.clock()));
  }

  /** True when a job for `key` is running, waiting, or persisted to resume. */
  queued(key: JobKey): boolean {
    const state = this.state(key);
    return state === "pending" || state === "running";
  }

  /** The job's public state for a key, if any job is known. */
  state(key: JobKey): string | undefined {
    return this.active.get(keyId(key))?.phase ?? this.deps.jobs.get(key)?.state;
  }

  /** Cancels the job under `key` and waits until it has stopped (raw memory kept, partial output removed). */
  async cancel(key: JobKey, operation: string): Promise<void> {
    const job = this.active.get(keyId(key));
    if (!job) return;
    if (job.phase === "running") this.deps.metrics.compressionPreemptions.inc({ operation });
    job.abort.abort(new Error(`cancelled by ${operation}`));
    await job.done;
  }

  /**
   * What restore, fork and capture do before they read memory: cancel the job of `key`, then leave only the
   * raw memory file in `dir` (decompressing it when only a compressed form is there). A snapshot's record is
   * updated to say its memory is raw again.
   */
  async takeRawMemory(key: JobKey, dir: string, hv: Hypervisor, operation: string): Promise<void> {
    await this.cancel(key, operation);
    const labels = { hypervisor: hv.type, path: existsSync(join(dir, hv.memoryFile)) ? "raw" : "decompress" };
    const end = this.deps.metrics.restoreMemoryPrepareDuration.startTimer(labels);
    try {
      await makeMemoryRaw(dir, hv.memoryFile);
    } catch (err) {
      end({ result: "failed" });
      this.deps.metrics.restoreMemoryPrepare.inc({ ...labels, result: "failed" });
      throw inStep(`${operation}: prepare memory in ${dir}`, err);
    }
    end({ result: "success" });
    this.deps.metrics.restoreMemoryPrepare.inc({ ...labels, result: "success" });
    if (key.kind === "snapshot") await recordSnapshotMemory(this.deps.snapshots, key.id, { dir, file: hv.memoryFile }, { form: "raw" });
  }

  /** At start-up: jobs that were pending or running start again (with what is left of their delay). */
  async resumeAfterRestart(): Promise<void> {
    for (const row of this.deps.jobs.unfinished()) {
      const spec = this.spec(row.key, row.dir, row.hypervisor, row.policy, row.notBefore);
      if (!existsSync(spec.dir)) {
        await this.finish(spec, "skipped", "its directory is gone");
        continue;
      }
      this.deps.logger.info("resuming compression job", { key: keyId(row.key), state: row.state });
      this.start(spec);
    }
  }

  /** Service shutdown: stop every job, keeping its row unfinished so the next start resumes it. */
  async stopAll(): Promise<void> {
    const jobs = [...this.active.values()];
    for (const job of jobs) job.abort.abort(new ShutdownSignal());
    await Promise.all(jobs.map((job) => job.done));
  }

  private spec(key: JobKey, dir: string, hypervisor: string, policy: EnabledCompression, notBefore: Date): JobSpec {
    return { key, dir, memoryFile: this.deps.hypervisorMemoryFile(hypervisor), hypervisor, policy, notBefore };
  }

  private start(spec: JobSpec): void {
    const id = keyId(spec.key);
    if (this.active.has(id)) return; // at most one job per key
    const now = this.deps.clock();
    this.deps.jobs.put({
      key: spec.key,
      state: "pending",
      policy: spec.policy,
      dir: spec.dir,
      hypervisor: spec.hypervisor,
      notBefore: spec.notBefore,
      bytesDone: 0,
      bytesTotal: 0,
      error: null,
      createdAt: now,
      updatedAt: now,
    });
    const job: ActiveJob = { abort: new AbortController(), phase: "pending", done: Promise.resolve() };
    this.active.set(id, job);
    this.deps.metrics.compressionPending.inc();
    job.done = this.run(spec, job)
      // Only recording the end can fail here (the database on a full disk): the job is over either way, and a
      // restart finds its row unfinished and runs it again.
      .catch((err) => this.deps.logger.error("compression job could not record its end", { key: id, error: String(err) }))
      .finally(() => this.active.delete(id));
  }

  private async run(spec: JobSpec, job: ActiveJob): Promise<void> {
    const labels = { hypervisor: spec.hypervisor, algorithm: spec.policy.algorithm, source: source(spec.key) };
    const signal = job.abort.signal;
    const waitStarted = performance.now();
    try {
      await sleepUntil(spec.notBefore, this.deps.clock, signal);
    } catch {
      this.deps.metrics.compressionPending.dec();
      this.deps.metrics.compressionWait.observe({ ...labels, outcome: "skipped" }, (performance.now() - waitStarted) / 1000);
      if (!(signal.reason instanceof ShutdownSignal)) await this.finish(spec, "skipped");
      return;
    }
    this.deps.metrics.compressionPending.dec();
    this.deps.metrics.compressionWait.observe({ ...labels, outcome: "started" }, (performance.now() - waitStarted) / 1000);
    if (spec.key.kind === "snapshot" && (this.deps.snapshots.refCounts([spec.key.id]).get(spec.key.id) ?? 0) > 0) {
      // Forks hard-link this memory file; compressing a shared inode saves nothing (product.md §4.2).
      await this.finish(spec, "skipped", "snapshot has forks");
      return;
    }
    job.phase = "running";
    this.deps.jobs.update(spec.key, { state: "running", updatedAt: this.deps.clock() });
    this.deps.metrics.compressionActive.inc();
    const end = this.deps.metrics.compressionDuration.startTimer(labels);
    const raw = join(spec.dir, spec.memoryFile);
    try {
      if (!existsSync(raw)) {
        // Already compressed (e.g. a restart after the rename) or nothing to do.
        await this.finish(spec, "compressed");
        end({ result: "success" });
        return;
      }
      const result = await compressMemory(raw, spec.policy, {
        signal,
        onProgress: (done, total) => this.recordProgress(spec.key, done, total),
      });
      end({ result: "success" });
      this.deps.metrics.compressionSavedBytes.inc(labels, Math.max(0, result.bytesIn - result.bytesOut));
      if (result.bytesIn > 0) this.deps.metrics.compressionRatio.observe(labels, result.bytesOut / result.bytesIn);
      await this.finish(spec, "compressed", undefined, { raw: result.bytesIn, compressed: result.bytesOut });
    } catch (err) {
      if (signal.aborted) {
        end({ result: "canceled" });
        if (!(signal.reason instanceof ShutdownSignal)) await this.finish(spec, "canceled");
        else this.deps.jobs.update(spec.key, { state: "pending", updatedAt: this.deps.clock() });
      } else {
        end({ result: "failed" });
        const message = err instanceof Error ? err.message : String(err);
        this.deps.logger.error("compression failed", { key: keyId(spec.key), error: message });
        await this.finish(spec, "error", message);
      }
    } finally {
      this.deps.metrics.compressionActive.dec();
    }
  }

  /** Progress is for display: a row that cannot be written now (the database on a full disk) does not end the job. */
  private recordProgress(key: JobKey, done: number, total: number): void {
    try {
      this.deps.jobs.update(key, { bytesDone: done, bytesTotal: total });
    } catch (err) {
      this.deps.logger.warn("compression progress not recorded", { key: keyId(key), error: String(err) });
    }
  }

  /** Records a job's end in the jobs table and, for snapshot jobs, in the snapshot record. */
  private async finish(spec: JobSpec, outcome: Outcome, error?: string, sizes?: { raw: number; compressed: number }): Promise<void> {
    this.deps.jobs.update(spec.key, { state: outcome, error: error ?? null, updatedAt: this.deps.clock() });
    const result = { compressed: "success", canceled: "canceled", skipped: "skipped", error: "failed" }[outcome];
    this.deps.metrics.compressionJobs.inc({ hypervisor: spec.hypervisor, algorithm: spec.policy.algorithm, source: source(spec.key), result });
    if (spec.key.kind !== "snapshot") return;
    // Cancelled and skipped jobs leave the memory raw.
    const memory: SnapshotMemory =
      outcome === "compressed"
        ? { form: "compressed", policy: spec.policy, sizes }
        : outcome === "error"
          ? { form: "failed", policy: spec.policy, error: error ?? "compression failed" }
          : { form: "raw" };
    await recordSnapshotMemory(this.deps.snapshots, spec.key.id, { dir: spec.dir, file: spec.memoryFile }, memory);
  }
}

class ShutdownSignal extends Error {
  constructor() {
    super("service stopping");
  }
}

const source = (key: JobKey) => (key.kind === "snapshot" ? "snapshot" : "standby");

/** Resolves at `when` (by the injected clock), rejects when `signal` aborts. */
function sleepUntil(when: Date, clock: () => Date, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const ms = Math.max(0, when.getTime() - clock().getTime());
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
