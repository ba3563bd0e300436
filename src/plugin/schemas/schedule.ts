// Snapshot schedule requests and responses (reference §3.7).
import { z } from "@hono/zod-openapi";
import { MAX_NAME_PREFIX } from "../../core/schedules/schedules.ts";
import { NAME_PATTERN } from "../../store/paths.ts";
import { GoDurationSchema, TagsSchema } from "./common.ts";

/** More scheduled snapshots than this per instance is a typo, not a retention policy. */
const MAX_RETENTION_COUNT = 10_000;

export const SetScheduleSchema = z
  .object({
    interval: GoDurationSchema,
    retention: z
      .object({ max_count: z.number().int().min(0).max(MAX_RETENTION_COUNT).optional(), max_age: GoDurationSchema.optional() })
      .strict()
      .refine((r) => r.max_count !== undefined || r.max_age !== undefined, "retention must include max_count or max_age"),
    // The reference's messages, which name the field themselves.
    name_prefix: z
      .string()
      .max(MAX_NAME_PREFIX, `name_prefix must be at most ${MAX_NAME_PREFIX} characters`)
      .regex(NAME_PATTERN, "name_prefix must be lowercase letters, digits and dashes, starting and ending with a letter or digit")
      .nullable()
      .optional()
      .openapi({ description: "scheduled snapshots are named <name_prefix>-YYYYMMDD-HHMMSS (default prefix: scheduled)" }),
    metadata: TagsSchema.default({}),
  })
  .strict()
  .openapi("SetSnapshotScheduleRequest");

export const ScheduleSchema = z
  .object({
    instance_id: z.string(),
    interval: z.string().openapi({ example: "24h0m0s" }),
    name_prefix: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    retention: z.object({ max_count: z.number().int(), max_age: z.string().optional() }),
    next_run_at: z.string().datetime(),
    last_run_at: z.string().datetime().nullable(),
    last_snapshot_id: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
  })
  .openapi("SnapshotSchedule");
