// Background compression of snapshot memory (reference §7.3–7.5, product.md §4.2/§4.4): one job per key
// (`instance:<id>` for standby memory, `snapshot:<id>` for stored snapshots), persisted in the jobs table so a
// restart resumes or resets it. Output is written as `<raw>.<ext>.tmp`, renamed, and only then is the raw file
// removed; cancelling at any point keeps the raw file. Operations that need raw memory cancel-and-wait first.
import { existsSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { fsyncFile } from "../../fs/atomic.ts";
import { CODECS } from "../../store/codecs/codec-table.ts";
import { runCodec } from "../../store/codecs/codec-runner.ts";
import { payloadSizes } from "../../store/file-sizes.ts";
import type { JobsRepo } from "../../store/jobs-repo.ts";
import type { SnapshotsRepo } from "../../store/snapshots-repo.ts";
import { COMPRESSION_ALGORITHMS, resolveCompression, type CompressionAlgorithm, type CompressionConfig } from "./compression-policy.ts";
import { internal } from "../errors.ts";
import type { Logger } from "../service/logger.ts";
import type { Metrics } from "../service/metrics.ts";

export type EnabledCompression = Extract<CompressionConfig, { enabled: true }>;

export interface StandbyPlan {
  policy: EnabledCompression;
  delayMs: number;
}

interface JobSpec {
  key: string;
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

export interface CompressionJobsDeps {
  jobs: JobsRepo;
  snapshots: SnapshotsRepo;
  hypervisorMemoryFile: (type: string) => string;
  serverDefault: () => CompressionConfig | undefined;
  metrics: Metrics;
  logger: Logger;
  clock: () => Date;
}

export const compressedPath = (raw: string, algorithm: CompressionAlgorithm) => `${raw}${CODECS[algorithm].extension}`;

export class CompressionJobs {
  private readonly active = new Map<string, ActiveJob>();

  constructor(private readonly deps: CompressionJobsDeps) {}

  /** Standby compression policy and delay: request → instance policy → server default; validated before any side effect. */
  standbyPlan(
    instance: { snapshotPolicy: { compression?: CompressionConfig; standbyCompressionDelayMs?: number } | null },
    request: { compression?: CompressionConfig; compressionDelayMs?: number },
  ): StandbyPlan | undefined {
    const policy = resolveCompression(request.compression, instance.snapshotPolicy?.compression, this.deps.serverDefault());
    if (!policy) return undefined;
    return { policy, delayMs: request.compressionDelayMs ?? instance.snapshotPolicy?.standbyCompressionDelayMs ?? 0 };
  }

  /** Snapshot compression policy: request → source instance policy → server default (no delay for snapshots). */
  snapshotPolicy(
    request: CompressionConfig | undefined,
    instancePolicy: { compression?: CompressionConfig } | null,
  ): EnabledCompression | undefined {
    return resolveCompression(request, instancePolicy?.compression, this.deps.serverDefault());
  }

  scheduleStandby(instanceId: string, dir: string, hypervisor: string, plan: StandbyPlan): void {
    this.start({
      key: `instance:${instanceId}`,
      dir,
      memoryFile: this.deps.hypervisorMemoryFile(hypervisor),
      hypervisor,
      policy: plan.policy,
      notBefore: new Date(this.deps.clock().getTime() + plan.delayMs),
    });
  }

  scheduleSnapshot(snapshotId: string, dir: string, hypervisor: string, policy: EnabledCompression): void {
    this.start({
      key: `snapshot:${snapshotId}`,
      dir,
      memoryFile: this.deps.hypervisorMemoryFile(hypervisor),
      hypervisor,
      policy,
      notBefore: this.deps.clock(),
    });
  }

  /** True when a job for `key` is running, waiting, or persisted to resume. */
  queued(key: string): boolean {
    const state = this.state(key);
    return state === "pending" || state === "running";
  }

  /** The job's public state for a key, if any job is known. */
  state(key: string): string | undefined {
    return this.active.get(key)?.phase ?? this.deps.jobs.get(key)?.state;
  }

  /** Cancels the job under `key` and waits until it has stopped (raw memory kept, partial output removed). */
  async cancel(key: string, operation: string): Promise<void> {
    const job = this.active.get(key);
    if (!job) return;
    if (job.phase === "running") this.deps.metrics.compressionPreemptions.inc({ operation });
    job.abort.abort(new Error(`cancelled by ${operation}`));
    await job.done;
  }

  /**
   * Makes the memory in `dir` raw before a restore, fork or copy needs it: raw present → compressed siblings
   * removed; only compressed → decompressed to `<raw>.tmp` and renamed. Callers cancel the dir's job first.
   */
  async ensureRawMemory(dir: string, hv: Hypervisor, operation: string): Promise<void> {
    const raw = join(dir, hv.memoryFile);
    const path = existsSync(raw) ? "raw" : "decompress";
    const end = this.deps.metrics.restoreMemoryPrepareDuration.startTimer({ hypervisor: hv.type, path });
    try {
      if (path === "decompress") {
        const algorithm = COMPRESSION_ALGORITHMS.find((a) => existsSync(compressedPath(raw, a)));
        if (!algorithm) throw internal(`${operation}: no memory file in ${dir}`);
        const tmp = `${raw}.tmp`;
        await runCodec({ op: "decompress", algorithm, src: compressedPath(raw, algorithm), dst: tmp });
        await fsyncFile(tmp);
        await rename(tmp, raw);
      }
      await removeCompressedArtifacts(raw);
      end({ result: "success" });
      this.deps.metrics.restoreMemoryPrepare.inc({ hypervisor: hv.type, path, result: "success" });
    } catch (err) {
      end({ result: "failed" });
      this.deps.metrics.restoreMemoryPrepare.inc({ hypervisor: hv.type, path, result: "failed" });
      throw err;
    }
  }

  /** At start-up: jobs that were pending or running start again (with what is left of their delay). */
  async resumeAfterRestart(): Promise<void> {
    for (const row of this.deps.jobs.unfinished()) {
      const spec: JobSpec = {
        key: row.key,
        dir: row.dir,
        memoryFile: this.deps.hypervisorMemoryFile(row.hypervisor),
        hypervisor: row.hypervisor,
        policy: row.policy as EnabledCompression,
        notBefore: row.notBefore,
      };
      if (!existsSync(spec.dir)) {
        await this.finish(spec, "skipped", "its directory is gone");
        continue;
      }
      this.deps.logger.info("resuming compression job", { key: row.key, state: row.state });
      this.start(spec);
    }
  }

  /** Service shutdown: stop every job, keeping its row unfinished so the next start resumes it. */
  async stopAll(): Promise<void> {
    const jobs = [...this.active.entries()];
    for (const [, job] of jobs) job.abort.abort(new ShutdownSignal());
    await Promise.all(jobs.map(([, job]) => job.done));
  }

  private start(spec: JobSpec): void {
    if (this.active.has(spec.key)) return; // at most one job per key
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
    this.active.set(spec.key, job);
    this.deps.metrics.compressionPending.inc();
    job.done = this.run(spec, job).finally(() => this.active.delete(spec.key));
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
    if (spec.key.startsWith("snapshot:") && this.referenced(spec.key)) {
      // Forks hard-link this memory file; compressing a shared inode saves nothing (product.md §4.2).
      await this.finish(spec, "skipped", "snapshot has forks");
      return;
    }
    job.phase = "running";
    this.deps.jobs.update(spec.key, { state: "running", updatedAt: this.deps.clock() });
    this.deps.metrics.compressionActive.inc();
    const end = this.deps.metrics.compressionDuration.startTimer(labels);
    const raw = join(spec.dir, spec.memoryFile);
    const out = compressedPath(raw, spec.policy.algorithm);
    const tmp = `${out}.tmp`;
    try {
      if (!existsSync(raw)) {
        // Already compressed (e.g. a restart after the rename) or nothing to do.
        await this.finish(spec, "compressed");
        end({ result: "success" });
        return;
      }
      await removeCompressedArtifacts(raw);
      const result = await runCodec({
        op: "compress",
        algorithm: spec.policy.algorithm,
        level: spec.policy.level,
        src: raw,
        dst: tmp,
        signal,
        onProgress: (done, total) => this.deps.jobs.update(spec.key, { bytesDone: done, bytesTotal: total }),
      });
      await fsyncFile(tmp);
      await rename(tmp, out);
      await rm(raw);
      end({ result: "success" });
      this.deps.metrics.compressionSavedBytes.inc(labels, Math.max(0, result.bytesIn - result.bytesOut));
      if (result.bytesIn > 0) this.deps.metrics.compressionRatio.observe(labels, result.bytesOut / result.bytesIn);
      await this.finish(spec, "compressed", undefined, { raw: result.bytesIn, compressed: result.bytesOut });
    } catch (err) {
      await rm(tmp, { force: true });
      if (signal.aborted) {
        end({ result: "canceled" });
        if (!(signal.reason instanceof ShutdownSignal)) await this.finish(spec, "canceled");
        else this.deps.jobs.update(spec.key, { state: "pending", updatedAt: this.deps.clock() });
      } else {
        end({ result: "failed" });
        const message = err instanceof Error ? err.message : String(err);
        this.deps.logger.error("compression failed", { key: spec.key, error: message });
        await this.finish(spec, "error", message);
      }
    } finally {
      this.deps.metrics.compressionActive.dec();
    }
  }

  private referenced(key: string): boolean {
    const id = key.slice("snapshot:".length);
    return (this.deps.snapshots.refCounts([id]).get(id) ?? 0) > 0;
  }

  /** Records a job's end in the jobs table and, for snapshot jobs, in the snapshot record. */
  private async finish(
    spec: JobSpec,
    state: "compressed" | "canceled" | "skipped" | "error",
    error?: string,
    sizes?: { raw: number; compressed: number },
  ): Promise<void> {
    const now = this.deps.clock();
    this.deps.jobs.update(spec.key, { state, error: error ?? null, updatedAt: now });
    const result = { compressed: "success", canceled: "canceled", skipped: "skipped", error: "failed" }[state];
    this.deps.metrics.compressionJobs.inc({ hypervisor: spec.hypervisor, algorithm: spec.policy.algorithm, source: source(spec.key), result });
    if (!spec.key.startsWith("snapshot:")) return;
    const id = spec.key.slice("snapshot:".length);
    if (this.deps.snapshots.get(id)) await this.recordSnapshot(id, spec, state, error, sizes);
  }

  private async recordSnapshot(
    id: string,
    spec: JobSpec,
    state: "compressed" | "canceled" | "skipped" | "error",
    error: string | undefined,
    sizes: { raw: number; compressed: number } | undefined,
  ): Promise<void> {
    // The payload dir is <snapshot>/guest; its size is what is on disk now.
    const payload = join(spec.dir, "..");
    const payloadSizesNow = await payloadSizes(payload).catch(() => ({ sizeBytes: 0, allocatedBytes: null }));
    if (state === "compressed") {
      const raw = join(spec.dir, spec.memoryFile);
      const compressedSize = sizes?.compressed ?? (await stat(compressedPath(raw, spec.policy.algorithm)).then((s) => s.size).catch(() => null));
      this.deps.snapshots.update(id, {
        compressionState: "compressed",
        compression: spec.policy,
        compressionError: null,
        compressedSizeBytes: compressedSize,
        uncompressedSizeBytes: sizes?.raw ?? this.deps.snapshots.get(id)?.uncompressedSizeBytes ?? null,
        ...payloadSizesNow,
      });
    } else if (state === "error") {
      this.deps.snapshots.update(id, { compressionState: "error", compression: spec.policy, compressionError: error ?? "compression failed" });
    } else {
      this.deps.snapshots.update(id, {
        compressionState: "none",
        compression: null,
        compressionError: null,
        compressedSizeBytes: null,
        uncompressedSizeBytes: null,
        ...payloadSizesNow,
      });
    }
  }
}

class ShutdownSignal extends Error {
  constructor() {
    super("service stopping");
  }
}

const source = (key: string) => (key.startsWith("snapshot:") ? "snapshot" : "standby");

async function removeCompressedArtifacts(raw: string): Promise<void> {
  for (const a of COMPRESSION_ALGORITHMS) {
    await rm(compressedPath(raw, a), { force: true });
    await rm(`${compressedPath(raw, a)}.tmp`, { force: true });
  }
}

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
