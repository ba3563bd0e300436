// Snapshot requests and responses (reference §2.2, §3.1–3.6).
import { z } from "@hono/zod-openapi";
import { COMPRESSION_STATES, SNAPSHOT_KINDS, SNAPSHOT_ORIGINS } from "../../core/snapshots/view.ts";
import { CompressionConfigSchema, HypervisorSchema, NameSchema, TagsSchema, TargetStateSchema } from "./common.ts";
import { MailboxesSchema } from "./mailbox.ts";

export const SnapshotSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.enum(SNAPSHOT_KINDS),
    tags: z.record(z.string(), z.string()),
    source_instance_id: z.string(),
    source_instance_name: z.string(),
    source_hypervisor: HypervisorSchema,
    created_at: z.string().datetime(),
    size_bytes: z.number().int().openapi({ description: "apparent size of all payload files (sparse files count in full)" }),
    allocated_bytes: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "disk space the payload occupies; null for snapshots taken before it was measured" }),
    compression_state: z.enum(COMPRESSION_STATES),
    compression_error: z.string().nullable(),
    compression: CompressionConfigSchema.nullable(),
    compressed_size_bytes: z.number().int().nullable(),
    uncompressed_size_bytes: z.number().int().nullable(),
    ref_count: z.number().int().openapi({ description: "instances forked directly from this snapshot" }),
    origin: z.enum(SNAPSHOT_ORIGINS).openapi({ description: "who took it, set by the server: `schedule` snapshots are the only ones retention removes" }),
    schedule_id: z
      .string()
      .nullable()
      .openapi({ description: "the schedule that took it (schedules are one per instance: its instance id); null when manual" }),
    pinned: z.boolean().openapi({ description: "a pinned snapshot is never deleted, by retention or DELETE (409), until unpinned" }),
  })
  .openapi("Snapshot");

export const PatchSnapshotSchema = z
  .object({ pinned: z.boolean().openapi({ description: "pin (true) or unpin (false)" }) })
  .strict()
  .openapi("PatchSnapshotRequest");

export const CreateSnapshotSchema = z
  .object({
    kind: z.enum(SNAPSHOT_KINDS, { error: "kind must be one of Standby, Stopped" }),
    name: NameSchema.optional(),
    tags: TagsSchema.default({}),
    compression: CompressionConfigSchema.optional(),
    pinned: z.boolean().optional().openapi({ description: "pin it at once: never deleted until unpinned (PATCH /snapshots/{id})" }),
  })
  .strict()
  .openapi("CreateSnapshotRequest");

export const RestoreSnapshotSchema = z
  .object({ target_state: TargetStateSchema.optional(), target_hypervisor: HypervisorSchema.optional() })
  .strict()
  .openapi("RestoreSnapshotRequest");

export const ForkSnapshotSchema = z
  .object({
    name: NameSchema,
    target_state: TargetStateSchema.optional(),
    target_hypervisor: HypervisorSchema.optional(),
    mailboxes: MailboxesSchema,
  })
  .strict()
  .openapi("ForkSnapshotRequest");

export const SnapshotParamSchema = z.object({
  snapshotId: z.string().openapi({ param: { name: "snapshotId", in: "path" } }),
});
