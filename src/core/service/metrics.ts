// Metrics core records, with the reference's names for compression (§7.6). Each service instance owns its
// registry (no global singletons), so two embedded instances never mix their numbers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "snapvisor_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "snapvisor_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly lifecycleDuration = new Histogram({
    name: "snapvisor_lifecycle_duration_seconds",
    help: "Duration of lifecycle operations (start, stop, standby, restore, snapshot, fork)",
    labelNames: ["operation", "hypervisor", "result"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly compressionJobs = new Counter({
    name: "hypeman_snapshot_compression_jobs_total",
    help: "Compression jobs by result (success, failed, canceled, skipped)",
    labelNames: ["hypervisor", "algorithm", "source", "result"],
    registers: [this.registry],
  });
  readonly compressionDuration = new Histogram({
    name: "hypeman_snapshot_compression_duration_seconds",
    help: "Time spent compressing one memory file",
    labelNames: ["hypervisor", "algorithm", "source", "result"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly compressionWait = new Histogram({
    name: "hypeman_snapshot_compression_wait_duration_seconds",
    help: "Time a job waited (delay) before it started or was skipped",
    labelNames: ["hypervisor", "algorithm", "source", "outcome"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly compressionSavedBytes = new Counter({
    name: "hypeman_snapshot_compression_saved_bytes",
    help: "Bytes saved by compression (raw - compressed)",
    labelNames: ["hypervisor", "algorithm", "source"],
    registers: [this.registry],
  });
  readonly compressionRatio = new Histogram({
    name: "hypeman_snapshot_compression_ratio",
    help: "Compressed size / raw size",
    labelNames: ["hypervisor", "algorithm", "source"],
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1],
    registers: [this.registry],
  });
  readonly restoreMemoryPrepare = new Counter({
    name: "hypeman_snapshot_restore_memory_prepare_total",
    help: "Memory preparations before restore/fork by path (raw, decompress)",
    labelNames: ["hypervisor", "path", "result"],
    registers: [this.registry],
  });
  readonly restoreMemoryPrepareDuration = new Histogram({
    name: "hypeman_snapshot_restore_memory_prepare_duration_seconds",
    help: "Time to make memory raw before restore/fork",
    labelNames: ["hypervisor", "path", "result"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly compressionPreemptions = new Counter({
    name: "hypeman_snapshot_compression_preemptions_total",
    help: "Running compression jobs cancelled by another operation",
    labelNames: ["operation"],
    registers: [this.registry],
  });
  readonly compressionActive = new Gauge({
    name: "hypeman_snapshot_compression_active_total",
    help: "Compression jobs running now",
    registers: [this.registry],
  });
  readonly compressionPending = new Gauge({
    name: "hypeman_snapshot_compression_pending_total",
    help: "Compression jobs waiting for their delay",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "snapvisor_" });
  }

  /** Times `fn` into the lifecycle histogram. */
  async timed<T>(operation: string, hypervisor: string, fn: () => Promise<T>): Promise<T> {
    const end = this.lifecycleDuration.startTimer({ operation, hypervisor });
    try {
      const out = await fn();
      end({ result: "success" });
      return out;
    } catch (err) {
      end({ result: "failed" });
      throw err;
    }
  }
}
