// Snapshot schedule requests and responses (reference §3.7).
import { z } from "@hono/zod-openapi";
import { MAX_NAME_PREFIX } from "../../core/schedules/schedules.ts";
import { NAME_PATTERN } from "../../store/paths.ts";
import { GoDurationSchema, TagsSchema } from "./common.ts";

/** More scheduled snapshots than this per instance is a typo, not a retention policy. */
const MAX_RETENTION_COUNT = 10_000;
const MAX_CRON_LENGTH = 128;

const count = (what: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_RETENTION_COUNT)
    .optional()
    .openapi({ description: `${what} (0 or absent: this rule keeps nothing)` });

const retentionFields = {
  max_count: count("at most this many, newest first (with max_age: both must hold)"),
  max_age: GoDurationSchema.optional().openapi({ description: "none older than this (a Go duration, relative to now)" }),
  keep_last: count("restic --keep-last: the n newest"),
  keep_hourly: count("restic --keep-hourly: the newest of each of the last n hours that have snapshots"),
  keep_daily: count("restic --keep-daily: the newest of each of the last n days that have snapshots"),
  keep_weekly: count("restic --keep-weekly: the newest of each of the last n ISO weeks (Monday to Sunday) that have snapshots"),
  keep_monthly: count("restic --keep-monthly: the newest of each of the last n months that have snapshots"),
  keep_yearly: count("restic --keep-yearly: the newest of each of the last n years that have snapshots"),
  keep_within: GoDurationSchema.optional().openapi({
    description: "restic --keep-within: every snapshot within this Go duration of the newest one",
    example: "48h",
  }),
};

const RetentionSchema = z
  .object(retentionFields)
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), "retention must include max_count or max_age or a keep_* rule")
  .openapi({
    description:
      "A snapshot stays if any rule keeps it (restic `forget` semantics); max_count and max_age together are one rule, as before. " +
      "Calendar periods are in the schedule's timezone. Only snapshots this schedule took are ever removed, never pinned ones or ones with forks.",
  });

export const SetScheduleSchema = z
  .object({
    interval: GoDurationSchema.optional().openapi({ description: "a snapshot every interval (at least 1m); exactly one of interval or cron" }),
    cron: z
      .string()
      .max(MAX_CRON_LENGTH)
      .optional()
      .openapi({ description: "a 5-field cron expression or @nickname (croner), e.g. `*/15 * * * *`; exactly one of interval or cron", example: "*/15 * * * *" }),
    timezone: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: "IANA time zone of the cron expression and the retention periods (default UTC)", example: "Europe/Berlin" }),
    retention: RetentionSchema,
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

/** A preview's optional candidate: `{}` (or no body) previews the current schedule. */
export const PreviewScheduleSchema = z.preprocess(
  (body) => (body !== null && typeof body === "object" && Object.keys(body).length === 0 ? undefined : body),
  SetScheduleSchema.optional(),
);

export const RetentionReasonSchema = z.string().openapi({
  description: "a rule that keeps it (keep_last, keep_daily, keep_daily (oldest), keep_within, max_count, max_age…) or a protection (pinned, forked)",
  example: "keep_daily",
});

const RetentionCountsSchema = z
  .object({ keep: z.number().int(), remove: z.number().int() })
  .openapi({ description: "what retention would do now to the snapshots this schedule took" });

export const ScheduleSchema = z
  .object({
    instance_id: z.string(),
    interval: z.string().nullable().openapi({ example: "24h0m0s", description: "null for a cron schedule" }),
    cron: z.string().nullable().openapi({ description: "the cron expression; null for an interval schedule" }),
    timezone: z.string().nullable().openapi({ description: "IANA zone of the cron expression and the retention periods; null: UTC" }),
    name_prefix: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    retention: z.object({ ...retentionFields, max_count: z.number().int().openapi({ description: "0 when not set" }) }),
    retention_preview: RetentionCountsSchema,
    next_run_at: z.string().datetime(),
    last_run_at: z.string().datetime().nullable(),
    last_snapshot_id: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
  })
  .openapi("SnapshotSchedule");

export const RetentionPreviewSchema = z
  .object({
    instance_id: z.string(),
    keep: z.number().int(),
    remove: z.number().int(),
    snapshots: z.array(
      z.object({
        id: z.string(),
        name: z.string().nullable(),
        created_at: z.string().datetime(),
        pinned: z.boolean(),
        ref_count: z.number().int(),
        action: z.enum(["keep", "remove"]),
        reasons: z.array(RetentionReasonSchema),
      }),
    ),
  })
  .openapi("RetentionPreview", { description: "Each snapshot the schedule took, newest first, and what retention would do to it now" });
