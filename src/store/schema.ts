// The only declaration of tables. Row types derive from it ($inferSelect / $inferInsert).
// The database is the index; payload files live in the data dir (paths.ts). Timestamps are epoch ms.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { CodecName } from "./codecs/codec-table.ts";

const createdAt = () => integer("created_at", { mode: "timestamp_ms" }).notNull();

export const images = sqliteTable("images", {
  name: text("name").primaryKey(),
  /** Absolute paths; the files of the default image live under <data>/images/<name>/. */
  kernel: text("kernel").notNull(),
  initrd: text("initrd"),
  rootfs: text("rootfs"),
  cmdline: text("cmdline").notNull(),
  createdAt: createdAt(),
});

/** Normalised compression config (JSON columns): an enabled one always names its codec and level. */
export type CompressionConfig = { enabled: false } | { enabled: true; algorithm: CodecName; level: number };
export type EnabledCompression = Extract<CompressionConfig, { enabled: true }>;

/** An instance's snapshot policy as stored (normalised). */
export interface SnapshotPolicy {
  compression?: CompressionConfig;
  /** Delay before an instance's standby memory is compressed, in ms. */
  standbyCompressionDelayMs?: number;
}

/** An instance's network settings as stored (normalised; rates in bytes per second, 0 = no limit). */
export interface NetworkSettings {
  enabled: boolean;
  downloadBytesPerSec: number;
  uploadBytesPerSec: number;
  /** Guest TCP ports reached through host loopback forwards in user mode. */
  guestPorts: number[];
}

/** An instance's idle auto-standby policy as stored (normalised; reference-network §4.1). */
export interface AutoStandbyPolicy {
  enabled: boolean;
  /** Present when enabled. */
  idleTimeoutMs?: number;
  /** Canonical CIDRs (masked, de-duplicated, sorted) whose clients do not count as activity. */
  ignoreSourceCidrs: string[];
  /** Guest ports whose traffic does not count as activity (sorted, unique). */
  ignoreDestinationPorts: number[];
}

/** Lifecycle of a stored row: `ready` rows are visible; `deleting` rows are half-removed (reconciled at start-up);
 * `error` rows lost their payload. */
export const ROW_STATES = ["ready", "deleting", "error"] as const;

export const instances = sqliteTable(
  "instances",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    image: text("image").notNull(),
    hypervisor: text("hypervisor").notNull(),
    /** VMM version of the last start/restore (what a standby payload was written by). */
    hypervisorVersion: text("hypervisor_version"),
    vcpus: integer("vcpus").notNull(),
    memoryBytes: integer("memory_bytes").notNull(),
    overlayBytes: integer("overlay_bytes").notNull(),
    env: text("env", { mode: "json" }).$type<Record<string, string>>().notNull(),
    tags: text("tags", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** Normalised snapshot policy (compression + standby delay), null when none was given. */
    snapshotPolicy: text("snapshot_policy", { mode: "json" }).$type<SnapshotPolicy>(),
    skipGuestAgent: integer("skip_guest_agent", { mode: "boolean" }).notNull(),
    /** Null for instances created before networking: they have no network device (their snapshots neither). */
    network: text("network", { mode: "json" }).$type<NetworkSettings>(),
    /** Null when no policy was ever given (status `policy_missing`). */
    autoStandby: text("auto_standby", { mode: "json" }).$type<AutoStandbyPolicy>(),
    pid: integer("pid"),
    rowState: text("row_state", { enum: ROW_STATES }).notNull(),
    stateError: text("state_error"),
    createdAt: createdAt(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    stoppedAt: integer("stopped_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("instances_name").on(t.name), index("instances_created").on(t.createdAt, t.id)],
);

/** What restore and fork rebuild an instance from: the source row minus identity and runtime fields. */
export type StoredMetadata = Pick<
  typeof instances.$inferSelect,
  "image" | "hypervisor" | "hypervisorVersion" | "vcpus" | "memoryBytes" | "overlayBytes" | "env" | "tags" | "snapshotPolicy" | "skipGuestAgent" | "network" | "autoStandby"
>;

/** One ingress rule as stored (reference-network §3, plus `pathPrefix` and `wakeStopped`). */
export interface IngressRuleRecord {
  match: { hostname: string; port: number; pathPrefix: string };
  target: { instance: string; port: number };
  tls: boolean;
  redirectHttp: boolean;
  requestHeaderAuth?: { header: string; value: string };
  /** Start a Stopped target on a request (a cold boot) instead of answering 503. */
  wakeStopped: boolean;
}

export const ingresses = sqliteTable(
  "ingresses",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    tags: text("tags", { mode: "json" }).$type<Record<string, string>>().notNull(),
    rules: text("rules", { mode: "json" }).$type<IngressRuleRecord[]>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("ingresses_name").on(t.name)],
);

export const SNAPSHOT_KINDS = ["Standby", "Stopped"] as const;
/** Who took a snapshot: set by the server, never by a client (retention only deletes its own schedule's). */
export const SNAPSHOT_ORIGINS = ["manual", "schedule"] as const;
export const COMPRESSION_STATES = ["none", "compressing", "compressed", "error"] as const;

export const snapshots = sqliteTable(
  "snapshots",
  {
    id: text("id").primaryKey(),
    name: text("name"),
    kind: text("kind", { enum: SNAPSHOT_KINDS }).notNull(),
    tags: text("tags", { mode: "json" }).$type<Record<string, string>>().notNull(),
    sourceInstanceId: text("source_instance_id").notNull(),
    sourceInstanceName: text("source_instance_name").notNull(),
    sourceHypervisor: text("source_hypervisor").notNull(),
    sourceHypervisorVersion: text("source_hypervisor_version"),
    /** The source instance's row (minus runtime fields) at capture time: what restore and fork rebuild from. */
    storedMetadata: text("stored_metadata", { mode: "json" }).$type<StoredMetadata>().notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    /** Blocks the payload occupies (sparse files count what they use); null for rows written before it was measured. */
    allocatedBytes: integer("allocated_bytes"),
    compressionState: text("compression_state", { enum: COMPRESSION_STATES }).notNull(),
    /** The policy the stored memory is (being) compressed with; null when it is raw. */
    compression: text("compression", { mode: "json" }).$type<EnabledCompression>(),
    compressionError: text("compression_error"),
    compressedSizeBytes: integer("compressed_size_bytes"),
    uncompressedSizeBytes: integer("uncompressed_size_bytes"),
    rowState: text("row_state", { enum: ROW_STATES }).notNull(),
    origin: text("origin", { enum: SNAPSHOT_ORIGINS }).notNull().default("manual"),
    /** The schedule that took it (schedules are one per instance: its instance id); null when manual. */
    scheduleId: text("schedule_id"),
    /** Pinned snapshots are never deleted, by retention or by hand, until unpinned. */
    pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index("snapshots_created").on(t.createdAt, t.id),
    index("snapshots_source").on(t.sourceInstanceId),
    // Names are unique per source instance; SQLite treats NULL names as distinct.
    uniqueIndex("snapshots_source_name").on(t.sourceInstanceId, t.name),
  ],
);

/** Which snapshot an instance was forked from. ref_count of a snapshot = its rows here. */
export const forks = sqliteTable(
  "forks",
  {
    instanceId: text("instance_id").primaryKey(),
    snapshotId: text("snapshot_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("forks_snapshot").on(t.snapshotId)],
);

export const NETWORK_MODES = ["user", "bridge"] as const;

/**
 * The network identity of an instance whose VM exists (running or standby): taken at boot (or at a fork's first
 * resume), kept through standby, released on stop and delete. The unique indexes are what keep two guests from
 * sharing an address, also across crashes (start-up reconcile drops leases of instances with no VM).
 */
export const networkLeases = sqliteTable(
  "network_leases",
  {
    instanceId: text("instance_id").primaryKey(),
    mode: text("mode", { enum: NETWORK_MODES }).notNull(),
    /** Bridge mode only; in user mode every guest is 10.0.2.15 behind its own NAT (null here). */
    ip: text("ip"),
    mac: text("mac").notNull(),
    /** Bridge mode only. */
    tap: text("tap"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("network_leases_ip").on(t.ip), uniqueIndex("network_leases_mac").on(t.mac), uniqueIndex("network_leases_tap").on(t.tap)],
);

/** User-mode loopback forwards of leased instances; a host port belongs to one instance. */
export const portForwards = sqliteTable(
  "port_forwards",
  {
    hostPort: integer("host_port").primaryKey(),
    instanceId: text("instance_id").notNull(),
    guestPort: integer("guest_port").notNull(),
  },
  (t) => [index("port_forwards_instance").on(t.instanceId)],
);

/** restic `forget`-style retention tiers as stored (counts; `withinMs` a duration); absent tiers keep nothing. */
export interface KeepRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  withinMs?: number;
}

export const schedules = sqliteTable("schedules", {
  instanceId: text("instance_id").primaryKey(),
  /** 0 for a cron schedule. */
  intervalMs: integer("interval_ms").notNull(),
  /** A croner expression, instead of an interval. */
  cron: text("cron"),
  /** IANA zone of the cron expression and of retention periods; null = UTC. */
  timezone: text("timezone"),
  /** Retention tiers beside max_count/max_age; null when none. */
  keep: text("keep", { mode: "json" }).$type<KeepRules>(),
  namePrefix: text("name_prefix"),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull(),
  maxCount: integer("max_count").notNull(),
  maxAgeMs: integer("max_age_ms").notNull(),
  nextRunAt: integer("next_run_at", { mode: "timestamp_ms" }).notNull(),
  lastRunAt: integer("last_run_at", { mode: "timestamp_ms" }),
  lastSnapshotId: text("last_snapshot_id"),
  lastError: text("last_error"),
  createdAt: createdAt(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const JOB_STATES = ["pending", "running", "compressed", "canceled", "skipped", "error"] as const;

/** Compression jobs, at most one per key (`instance:<id>` or `snapshot:<id>`, see jobs-repo.ts). */
export const jobs = sqliteTable("jobs", {
  key: text("key").primaryKey(),
  state: text("state", { enum: JOB_STATES }).notNull(),
  /** Normalised compression config the job runs with. */
  policy: text("policy", { mode: "json" }).$type<EnabledCompression>().notNull(),
  /** Absolute path of the directory holding the raw memory file. */
  dir: text("dir").notNull(),
  hypervisor: text("hypervisor").notNull(),
  notBefore: integer("not_before", { mode: "timestamp_ms" }).notNull(),
  bytesDone: integer("bytes_done").notNull(),
  bytesTotal: integer("bytes_total").notNull(),
  error: text("error"),
  createdAt: createdAt(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const TRANSFER_KINDS = ["push", "pull"] as const;
export const TRANSFER_STATES = ["pending", "running", "done", "error"] as const;

/** Snapshot pushes to and pulls from object-storage remotes (core/snapshots/transfer-jobs.ts): the jobs table of
 * transfers, apart from `jobs` whose columns are a compression job's. Unfinished rows are run again at start-up. */
export const transferJobs = sqliteTable(
  "transfer_jobs",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: TRANSFER_KINDS }).notNull(),
    snapshotId: text("snapshot_id").notNull(),
    /** The remote's name in the config. */
    remote: text("remote").notNull(),
    state: text("state", { enum: TRANSFER_STATES }).notNull(),
    /** Payload bytes and 4 MiB chunks processed so far, of the snapshot's total. */
    bytesDone: integer("bytes_done").notNull(),
    bytesTotal: integer("bytes_total").notNull(),
    chunksDone: integer("chunks_done").notNull(),
    chunksTotal: integer("chunks_total").notNull(),
    /** Bytes actually sent (push) or fetched (pull): chunks the other side already held cost nothing. */
    bytesTransferred: integer("bytes_transferred").notNull(),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("transfer_jobs_snapshot").on(t.snapshotId, t.kind)],
);

export type ImageRow = typeof images.$inferSelect;
export type InstanceRow = typeof instances.$inferSelect;
export type SnapshotRow = typeof snapshots.$inferSelect;
export type ForkRow = typeof forks.$inferSelect;
export type ScheduleRow = typeof schedules.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type NetworkLeaseRow = typeof networkLeases.$inferSelect;
export type PortForwardRow = typeof portForwards.$inferSelect;
export type IngressRow = typeof ingresses.$inferSelect;
export type TransferJobRow = typeof transferJobs.$inferSelect;
