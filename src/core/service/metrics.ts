// Metrics core records. Every name carries this product's prefix; the compression metrics follow the reference's
// names and labels (§7.6) under it. Each service instance owns its registry (no global singletons), so two
// embedded instances never mix their numbers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { vmmMemory, type VmmMemory } from "../../hv/vmm-memory.ts";

const PREFIX = "snapvisor_";
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RATIO_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1];
/** Labels of the compression metrics (reference §7.6); `source` is `standby` or `snapshot`. */
const JOB = ["hypervisor", "algorithm", "source"] as const;
const MEMORY_PREPARE = ["hypervisor", "path", "result"] as const;

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = this.counter("http_requests_total", "HTTP requests by method, route and status", ["method", "route", "status"]);
  readonly httpDuration = this.histogram("http_request_duration_seconds", "HTTP request latency", ["method", "route"]);
  readonly lifecycleDuration = this.histogram(
    "lifecycle_duration_seconds",
    "Duration of lifecycle operations (start, stop, standby, restore, snapshot, fork)",
    ["operation", "hypervisor", "result"],
  );
  readonly compressionJobs = this.counter(
    "snapshot_compression_jobs_total",
    "Compression jobs by result (success, failed, canceled, skipped)",
    [...JOB, "result"],
  );
  readonly compressionDuration = this.histogram(
    "snapshot_compression_duration_seconds",
    "Time spent compressing one memory file",
    [...JOB, "result"],
  );
  readonly compressionWait = this.histogram(
    "snapshot_compression_wait_duration_seconds",
    "Time a job waited (delay) before it started or was skipped",
    [...JOB, "outcome"],
  );
  readonly compressionSavedBytes = this.counter("snapshot_compression_saved_bytes", "Bytes saved by compression (raw - compressed)", [...JOB]);
  readonly compressionRatio = this.histogram("snapshot_compression_ratio", "Compressed size / raw size", [...JOB], RATIO_BUCKETS);
  readonly restoreMemoryPrepare = this.counter(
    "snapshot_restore_memory_prepare_total",
    "Memory preparations before restore/fork by path (raw, decompress)",
    [...MEMORY_PREPARE],
  );
  readonly restoreMemoryPrepareDuration = this.histogram(
    "snapshot_restore_memory_prepare_duration_seconds",
    "Time to make memory raw before restore/fork",
    [...MEMORY_PREPARE],
  );
  readonly compressionPreemptions = this.counter(
    "snapshot_compression_preemptions_total",
    "Running compression jobs cancelled by another operation",
    ["operation"],
  );
  readonly compressionActive = this.gauge("snapshot_compression_active_total", "Compression jobs running now");
  readonly compressionPending = this.gauge("snapshot_compression_pending_total", "Compression jobs waiting for their delay");

  readonly ingressWakes = this.counter("ingress_wakes_total", "Restores (or starts) the ingress triggered for a request", ["result"]);
  readonly ingressWakeDuration = this.histogram("ingress_wake_duration_seconds", "From the first held request to the guest port accepting", []);
  readonly ingressHeldRequests = this.gauge("ingress_held_requests", "Requests waiting for their target to wake");
  readonly ingressWaitTimeouts = this.counter("ingress_wait_timeouts_total", "Requests answered 503 because the wake took longer than the wait timeout, or the queue was full", ["reason"]);
  readonly autoStandbys = this.counter("auto_standby_standbys_total", "Idle auto-standby attempts by result", ["result"]);

  /** The running VMMs' pids; set by whoever owns the VM registry (none until then). */
  private vmmPids: () => number[] = () => [];

  // Read at each scrape from the kernel's accounting. PSS summed over the VMMs counts a page that forks share (their
  // snapshot's RAM file) once, so it is the host memory they hold together, not N x guest size.
  readonly vmms = this.gauge("vmms", "Running VMM processes", async (g) => g.set(this.vmmPids().length));
  readonly vmmPss = this.gauge("vmm_memory_pss_bytes", "Host memory the running VMMs hold together (sum of their PSS)", (g) => this.sumVmmMemory(g, "pssBytes"));
  readonly vmmPrivate = this.gauge("vmm_memory_private_bytes", "Host memory each running VMM holds alone, summed (Private_Clean + Private_Dirty)", (g) =>
    this.sumVmmMemory(g, "privateBytes"),
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  watchVmms(pids: () => number[]): void {
    this.vmmPids = pids;
  }

  private async sumVmmMemory(gauge: Gauge, field: keyof VmmMemory): Promise<void> {
    const usage = await Promise.all(this.vmmPids().map(vmmMemory));
    gauge.set(usage.reduce((sum, u) => sum + (u?.[field] ?? 0), 0));
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

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name: PREFIX + name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: L[], buckets = DURATION_BUCKETS): Histogram<L> {
    return new Histogram({ name: PREFIX + name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** `collect`, when given, sets the value at each scrape. */
  private gauge(name: string, help: string, collect?: (gauge: Gauge) => Promise<void>): Gauge {
    return new Gauge({ name: PREFIX + name, help, registers: [this.registry], ...(collect ? { collect() { return collect(this); } } : {}) });
  }
}
