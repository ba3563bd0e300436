// Example payloads shown on /docs. Each is typed by its schema, so an example that drifts from the API fails tsc.
import type { z } from "@hono/zod-openapi";
import type { CreateImageSchema, ImageSchema } from "../schemas/image.ts";
import type {
  CreateInstanceSchema,
  ExecResultSchema,
  ExecSchema,
  ForkInstanceSchema,
  InstanceSchema,
  StandbySchema,
} from "../schemas/instance.ts";
import type { RetentionPreviewSchema, ScheduleSchema, SetScheduleSchema } from "../schemas/schedule.ts";
import type { LineageSchema } from "../schemas/lineage.ts";
import type { CreateSnapshotSchema, ForkSnapshotSchema, PatchSnapshotSchema, RestoreSnapshotSchema, SnapshotSchema } from "../schemas/snapshot.ts";

type Example<T extends z.ZodType> = z.input<T>;

const CREATED_AT = "2026-05-04T10:00:00.000Z";

export const instanceExample: Example<typeof InstanceSchema> = {
  id: "k3v9q2m8x7c1p0z5w4n6b2d8",
  name: "web-1",
  image: "default",
  state: "Running",
  state_error: null,
  size: "512MB",
  overlay_size: "1GB",
  vcpus: 1,
  env: { APP_ENV: "staging" },
  volumes: [],
  created_at: CREATED_AT,
  started_at: "2026-05-04T10:00:02.000Z",
  stopped_at: null,
  has_snapshot: false,
  hypervisor: "qemu",
  tags: { team: "web" },
  snapshot_policy: null,
  fork_of_snapshot: null,
  auto_standby: { enabled: true, idle_timeout: "5m0s", ignore_source_cidrs: [], ignore_destination_ports: [] },
  memory: { backing: "file", shared_with_snapshot: null, private_bytes: 41_943_040 },
  network: {
    enabled: true,
    name: "default",
    ip: "10.0.2.15",
    mac: "02:5e:1a:77:03:9c",
    bandwidth_upload: "119.2 MB/s",
    port_forwards: [{ guest_port: 80, host: "127.0.0.1:40213" }],
  },
};

export const forkExample: Example<typeof InstanceSchema> = {
  ...instanceExample,
  id: "m1c7r2t9e4y6u8i0o3p5a2s4",
  name: "web-1-fork",
  fork_of_snapshot: "s8d2f4g6h1j3k5l7z9x0c2v4",
  memory: { backing: "file", shared_with_snapshot: "s8d2f4g6h1j3k5l7z9x0c2v4", private_bytes: 33_554_432 },
  network: { ...instanceExample.network, mac: "02:91:c4:0e:5b:21", port_forwards: [{ guest_port: 80, host: "127.0.0.1:40547" }] },
};

export const snapshotExample: Example<typeof SnapshotSchema> = {
  id: "s8d2f4g6h1j3k5l7z9x0c2v4",
  name: "before-upgrade",
  kind: "Standby",
  tags: { reason: "upgrade" },
  source_instance_id: instanceExample.id,
  source_instance_name: instanceExample.name,
  source_hypervisor: "qemu",
  created_at: CREATED_AT,
  size_bytes: 1_610_612_736,
  allocated_bytes: 402_653_184,
  compression_state: "compressed",
  compression_error: null,
  compression: { enabled: true, algorithm: "zstd", level: 1 },
  compressed_size_bytes: 61_203_456,
  uncompressed_size_bytes: 536_870_912,
  ref_count: 0,
  origin: "manual",
  schedule_id: null,
  pinned: true,
};

export const imageExample: Example<typeof ImageSchema> = {
  name: "alpine",
  kernel: "/var/lib/snapvisor/images/alpine/kernel",
  initrd: "/var/lib/snapvisor/images/alpine/initrd",
  rootfs: "/var/lib/snapvisor/images/alpine/rootfs",
  cmdline: "console=ttyS0 quiet",
  created_at: CREATED_AT,
};

export const scheduleExample: Example<typeof ScheduleSchema> = {
  instance_id: instanceExample.id,
  interval: null,
  cron: "*/15 * * * *",
  timezone: "Europe/Berlin",
  name_prefix: "quarterly",
  metadata: { schedule: "quarter-hourly" },
  retention: { max_count: 0, keep_last: 4, keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 6 },
  retention_preview: { keep: 41, remove: 1 },
  next_run_at: "2026-05-04T11:00:00.000Z",
  last_run_at: CREATED_AT,
  last_snapshot_id: snapshotExample.id,
  last_error: null,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

export const retentionPreviewExample: Example<typeof RetentionPreviewSchema> = {
  instance_id: instanceExample.id,
  keep: 1,
  remove: 1,
  snapshots: [
    {
      id: snapshotExample.id,
      name: "quarterly-20260504-101500",
      created_at: CREATED_AT,
      pinned: false,
      ref_count: 0,
      action: "keep",
      reasons: ["keep_last", "keep_hourly", "keep_daily"],
    },
    { id: "s0a1b2c3d4e5f6g7h8i9j0k1", name: "quarterly-20260504-100000", created_at: CREATED_AT, pinned: false, ref_count: 0, action: "remove", reasons: [] },
  ],
};

const lineageNode = { ref_count: null, memory: null, vmm_memory: null, source_deleted: false, children_cut: false } as const;
export const lineageExample: Example<typeof LineageSchema> = {
  ancestors: [],
  nodes: [
    { ...lineageNode, kind: "instance", id: instanceExample.id, name: instanceExample.name, state: "Running", created_at: CREATED_AT, disk_bytes: 402_653_184, parent_id: null, depth: 0 },
    {
      ...lineageNode,
      kind: "snapshot",
      id: snapshotExample.id,
      name: snapshotExample.name,
      state: "Standby",
      created_at: CREATED_AT,
      ref_count: 1,
      memory: { links: 2, shared_with: 1, allocated_bytes: 536_870_912 },
      disk_bytes: 939_524_096,
      parent_id: instanceExample.id,
      depth: 1,
    },
    { ...lineageNode, kind: "instance", id: forkExample.id, name: forkExample.name, state: "Running", created_at: CREATED_AT, disk_bytes: 8_388_608, parent_id: snapshotExample.id, depth: 2 },
  ],
};

export const requestExamples = {
  createInstance: { name: "web-1", image: "default", size: "512MB", overlay_size: "1GB", vcpus: 1, tags: { team: "web" } } satisfies Example<
    typeof CreateInstanceSchema
  >,
  standby: { compression: { enabled: true, algorithm: "zstd", level: 1 }, compression_delay: "30s" } satisfies Example<typeof StandbySchema>,
  forkInstance: { name: "web-1-fork", from_running: true, target_state: "Running" } satisfies Example<typeof ForkInstanceSchema>,
  exec: { command: ["uname", "-r"], timeout_ms: 10_000 } satisfies Example<typeof ExecSchema>,
  createSnapshot: { kind: "Standby", name: "before-upgrade", tags: { reason: "upgrade" } } satisfies Example<typeof CreateSnapshotSchema>,
  restoreSnapshot: { target_state: "Running" } satisfies Example<typeof RestoreSnapshotSchema>,
  forkSnapshot: { name: "web-1-fork", target_state: "Running" } satisfies Example<typeof ForkSnapshotSchema>,
  createImage: { name: "alpine", kernel: "/srv/guest/vmlinuz", initrd: "/srv/guest/initrd", rootfs: "/srv/guest/rootfs.img" } satisfies Example<
    typeof CreateImageSchema
  >,
  setSchedule: {
    cron: "*/15 * * * *",
    timezone: "Europe/Berlin",
    retention: { keep_last: 4, keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 6 },
    name_prefix: "quarterly",
  } satisfies Example<typeof SetScheduleSchema>,
  setPin: { pinned: true } satisfies Example<typeof PatchSnapshotSchema>,
};

export const execResultExample: Example<typeof ExecResultSchema> = {
  exit_code: 0,
  stdout: "6.1.0-18-amd64\n",
  stderr: "",
  stdout_truncated: false,
  stderr_truncated: false,
};
