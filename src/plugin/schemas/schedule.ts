// Snapshot schedule requests and responses (reference §3.7).
import { z } from "@hono/zod-openapi";
import { GoDurationSchema, TagsSchema } from "./common.ts";

export const SetScheduleSchema = z
  .object({
    interval: GoDurationSchema,
    retention: z
      .object({ max_count: z.number().int().optional(), max_age: GoDurationSchema.optional() })
      .refine((r) => r.max_count !== undefined || r.max_age !== undefined, "retention must include max_count or max_age"),
    name_prefix: z.string().nullable().optional(),
    metadata: TagsSchema.default({}),
  })
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
