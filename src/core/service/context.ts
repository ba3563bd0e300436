// What every core operation receives. It is built once, by the composition root (src/plugin/create-snapvisor.ts);
// core never reads the clock, makes ids or opens the database by itself, so tests control all three.
import type { Hypervisors } from "../../hv/hypervisor.ts";
import type { DataPaths } from "../../store/paths.ts";
import type { ImagesRepo } from "../../store/images-repo.ts";
import type { InstancesRepo } from "../../store/instances-repo.ts";
import type { SchedulesRepo } from "../../store/schedules-repo.ts";
import type { SnapshotsRepo } from "../../store/snapshots-repo.ts";
import type { NetworkRepo } from "../../store/network-repo.ts";
import type { RemoteTarget } from "../../store/remote/remote-store.ts";
import type { BridgeHost } from "../network/bridge-host.ts";
import type { NetworkConfig } from "../network/network-config.ts";
import type { CompressionJobs } from "../compression/compression-jobs.ts";
import type { ManifestJobs } from "../snapshots/manifest-jobs.ts";
import type { TransferJobs } from "../snapshots/transfer-jobs.ts";
import type { CompressionConfig } from "../compression/compression-policy.ts";
import type { VmRegistry } from "../instances/vm-registry.ts";
import type { HostResources } from "./host-resources.ts";
import type { IngressesRepo } from "../../store/ingresses-repo.ts";
import type { ActivityTracker } from "../ingress/activity.ts";
import type { AutoStandbyState } from "../ingress/auto-standby-state.ts";
import type { KeyedMutex } from "./locks.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

export interface CoreConfig {
  /** How long a graceful stop waits before the VMM is killed. */
  stopTimeoutMs: number;
  /** How long an operation returning a Running VM waits for the guest agent (reference §4.9: 120 s). */
  agentReadyTimeoutMs: number;
  /** Default timeout of `exec` when the request gives none. */
  execTimeoutMs: number;
  /** What a buffered exec keeps of each of stdout and stderr; the rest is cut and flagged. */
  execOutputLimitBytes: number;
  /** Largest file copied into or out of a guest. */
  fileCopyMaxBytes: number;
  /** A guest's console log is rotated past this size (two files are kept). */
  consoleLogMaxBytes: number;
  /** Server default for snapshot compression; absent = compression is opt-in per request/instance. */
  compressionDefault?: CompressionConfig;
  /** Directory holding the default guest image built by scripts/build-guest (registered as `default`). */
  defaultImageDir?: string;
  /** Absolute directories image sources must lie in (after symlinks are resolved). */
  imageRoots: string[];
  /** Server network mode and, for bridge mode, the managed network. */
  network: NetworkConfig;
  /** An ingress TLS listener is configured (`ingress.tls`): only then may a rule say `tls`. */
  ingressTls?: boolean;
  /** Object-storage remotes by name, credentials resolved (never logged or returned by the API). */
  remotes: Record<string, RemoteTarget>;
}

export const DEFAULT_CORE_CONFIG = {
  stopTimeoutMs: 10_000,
  agentReadyTimeoutMs: 120_000,
  execTimeoutMs: 60_000,
  execOutputLimitBytes: 16 * 1024 * 1024,
  fileCopyMaxBytes: 1024 * 1024 * 1024,
  consoleLogMaxBytes: 8 * 1024 * 1024,
} satisfies Partial<CoreConfig>;

export interface CoreContext {
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
  readonly locks: KeyedMutex;
  readonly vms: VmRegistry;
  readonly metrics: Metrics;
  readonly compression: CompressionJobs;
  /** Background hashing of snapshot payloads into their manifests. */
  readonly manifests: ManifestJobs;
  /** Snapshot pushes to and pulls from remotes. */
  readonly transfers: TransferJobs;
  /** The host's memory and free disk, as checked before guests are sized and payloads written. */
  readonly host: HostResources;
  readonly networkLeases: NetworkRepo;
  /** Host-side TAPs; present only in bridge mode. */
  readonly bridge?: BridgeHost;
  readonly ingresses: IngressesRepo;
  /** In-flight ingress traffic, exec, file copies and mailbox deliveries per instance (what auto-standby waits out). */
  readonly activity: ActivityTracker;
  /** Idle auto-standby: the countdowns, holds and standbys it runs. */
  readonly autoStandby: AutoStandbyState;
  /** Randomness for MACs, addresses and generation ids (a seam, like the clock). */
  readonly randomBytes: (n: number) => Uint8Array;
}

/** Runs a lifecycle operation under the instance's lock and records its duration in the metrics. */
export function runLocked<T>(ctx: CoreContext, id: string, operation: string, fn: () => Promise<T>): Promise<T> {
  return ctx.locks.run(id, () => ctx.metrics.timed(operation, ctx.instances.get(id)?.hypervisor ?? "unknown", fn));
}
