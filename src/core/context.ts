// What every core operation receives from the composition root (src/plugin/create-snapvisor.ts). Core never
// reads the clock, makes ids or opens the database by itself, so tests control all three.
import type { Hypervisors } from "../hv/hypervisor.ts";
import type { Db } from "../store/db.ts";
import { ImagesRepo } from "../store/images-repo.ts";
import { InstancesRepo } from "../store/instances-repo.ts";
import type { DataPaths } from "../store/paths.ts";
import { JobsRepo } from "../store/jobs-repo.ts";
import { SchedulesRepo } from "../store/schedules-repo.ts";
import { SnapshotsRepo } from "../store/snapshots-repo.ts";
import { CompressionJobs } from "./compression-jobs.ts";
import type { CompressionConfig } from "./compression-policy.ts";
import { hypervisorFor } from "./hypervisor-lookup.ts";
import { Metrics } from "./metrics.ts";
import { ScheduleRunner } from "./schedule-runner.ts";
import { KeyedMutex } from "./locks.ts";
import type { Logger } from "./logger.ts";
import { VmRegistry } from "./vm-registry.ts";

export interface CoreConfig {
  /** How long a graceful stop waits before the VMM is killed. */
  stopTimeoutMs: number;
  /** How long an operation returning a Running VM waits for the guest agent (reference §4.9: 120 s). */
  agentReadyTimeoutMs: number;
  /** Default timeout of `exec` when the request gives none. */
  execTimeoutMs: number;
  /** Server default for snapshot compression; absent = compression is opt-in per request/instance. */
  compressionDefault?: CompressionConfig;
  /** Directory holding the default guest image built by scripts/build-guest (registered as `default`). */
  defaultImageDir?: string;
  /** How often the schedule loop looks for due schedules; absent = no scheduler. */
  schedulerTickMs?: number;
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  stopTimeoutMs: 10_000,
  agentReadyTimeoutMs: 120_000,
  execTimeoutMs: 60_000,
};

export interface CoreDeps {
  db: Db;
  paths: DataPaths;
  hypervisors: Hypervisors;
  config: CoreConfig;
  logger: Logger;
  clock: () => Date;
  newId: () => string;
}

export class CoreContext {
  readonly paths: DataPaths;
  readonly hypervisors: Hypervisors;
  readonly config: CoreConfig;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly instances: InstancesRepo;
  readonly snapshots: SnapshotsRepo;
  readonly images: ImagesRepo;
  readonly schedules: SchedulesRepo;
  /** One lock per instance id; snapshot-only operations lock `snapshot:<id>`. */
  readonly locks = new KeyedMutex();
  readonly vms: VmRegistry;
  readonly metrics = new Metrics();
  readonly compression: CompressionJobs;
  /** Absent when the config turns the scheduler off. */
  readonly scheduler: ScheduleRunner | undefined;

  constructor(deps: CoreDeps) {
    this.paths = deps.paths;
    this.hypervisors = deps.hypervisors;
    this.config = deps.config;
    this.logger = deps.logger;
    this.clock = deps.clock;
    this.newId = deps.newId;
    this.instances = new InstancesRepo(deps.db);
    this.snapshots = new SnapshotsRepo(deps.db);
    this.images = new ImagesRepo(deps.db);
    this.schedules = new SchedulesRepo(deps.db);
    this.vms = new VmRegistry(this.instances, deps.clock, deps.logger);
    this.compression = new CompressionJobs({
      jobs: new JobsRepo(deps.db),
      snapshots: this.snapshots,
      hypervisorMemoryFile: (type) => hypervisorFor(this, type).memoryFile,
      serverDefault: () => this.config.compressionDefault,
      metrics: this.metrics,
      logger: deps.logger,
      clock: deps.clock,
    });
    this.scheduler = deps.config.schedulerTickMs === undefined ? undefined : new ScheduleRunner(this, deps.config.schedulerTickMs);
  }

  /** Runs a lifecycle operation under the instance's lock and records its duration in the metrics. */
  runLocked<T>(id: string, operation: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, () => this.metrics.timed(operation, this.instances.get(id)?.hypervisor ?? "unknown", fn));
  }
}
