// Snapshot schedule endpoints: GET/PUT/DELETE /instances/{id}/snapshot-schedule and its retention preview.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { invalidRequest } from "../../core/errors.ts";
import { GoDurationError, formatGoDuration, parseGoDuration } from "../wire/go-duration.ts";
import { deleteSchedule, getSchedule, setSchedule, type Schedule, type SetScheduleInput } from "../../core/schedules/schedules.ts";
import { previewRetention, retentionCounts, type RetentionPreview } from "../../core/schedules/retention-preview.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { PreviewScheduleSchema, RetentionPreviewSchema, ScheduleSchema, SetScheduleSchema } from "../schemas/schedule.ts";
import { requestExamples, retentionPreviewExample, scheduleExample } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["schedules"];
const path = "/instances/{id}/snapshot-schedule";

const get = createRoute({
  method: "get",
  path,
  tags,
  summary: "Get an instance's snapshot schedule",
  description:
    "The interval or cron expression, retention, the outcome of the last run, and `retention_preview`: how many of the snapshots it took " +
    "retention keeps and would remove now.",
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule", scheduleExample), ...errors(404) },
});
const put = createRoute({
  method: "put",
  path,
  tags,
  summary: "Set an instance's snapshot schedule",
  description:
    "Creates or replaces the schedule: a snapshot every `interval` (a Go duration such as `1h`) or at each match of `cron` " +
    "(in `timezone`, default UTC; jittered per instance within the minute it names). Missed runs are skipped, never backfilled. " +
    "Retention: at most `retention.max_count` and none older than `retention.max_age` (together one rule, as before), or restic-style " +
    "`keep_last/hourly/daily/weekly/monthly/yearly/within`; a snapshot stays if any rule keeps it. Retention only removes snapshots this " +
    "schedule took (their `origin` is `schedule`), never pinned ones or ones that have forks.",
  request: { params: IdParamSchema, body: jsonBody(SetScheduleSchema, requestExamples.setSchedule) },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule", scheduleExample), ...errors(400, 404) },
});
const preview = createRoute({
  method: "post",
  path: `${path}/preview`,
  tags,
  summary: "Preview retention (dry run)",
  description:
    "For each snapshot the schedule took, newest first: whether retention would keep or remove it now, and the rules or protections " +
    "that keep it. The body is an optional candidate schedule (same fields as PUT) to try before setting it; without one, the current " +
    "schedule is used. Nothing is deleted.",
  request: { params: IdParamSchema, body: jsonBody(PreviewScheduleSchema, requestExamples.setSchedule, false) },
  responses: { 200: jsonResponse(RetentionPreviewSchema, "The decisions", retentionPreviewExample), ...errors(400, 404) },
});
const remove = createRoute({
  method: "delete",
  path,
  tags,
  summary: "Delete an instance's snapshot schedule",
  description: "Stops scheduled snapshots; the snapshots already taken are kept.",
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...errors(404) },
});

function duration(value: string, message: string): number {
  try {
    return parseGoDuration(value);
  } catch (err) {
    if (err instanceof GoDurationError) throw invalidRequest(message);
    throw err;
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** `keep_*` fields that are set, in wire order. */
function keepToWire(s: Schedule) {
  const k = s.keep ?? {};
  return {
    ...(k.last !== undefined ? { keep_last: k.last } : {}),
    ...(k.hourly !== undefined ? { keep_hourly: k.hourly } : {}),
    ...(k.daily !== undefined ? { keep_daily: k.daily } : {}),
    ...(k.weekly !== undefined ? { keep_weekly: k.weekly } : {}),
    ...(k.monthly !== undefined ? { keep_monthly: k.monthly } : {}),
    ...(k.yearly !== undefined ? { keep_yearly: k.yearly } : {}),
    ...(k.withinMs !== undefined ? { keep_within: formatGoDuration(k.withinMs) } : {}),
  };
}

export function scheduleToWire(s: Schedule, counts: { keep: number; remove: number }): z.infer<typeof ScheduleSchema> {
  return {
    instance_id: s.instanceId,
    interval: s.cron ? null : formatGoDuration(s.intervalMs),
    cron: s.cron,
    timezone: s.timezone,
    name_prefix: s.namePrefix,
    metadata: s.metadata,
    retention: { max_count: s.maxCount, ...(s.maxAgeMs > 0 ? { max_age: formatGoDuration(s.maxAgeMs) } : {}), ...keepToWire(s) },
    retention_preview: counts,
    next_run_at: s.nextRunAt.toISOString(),
    last_run_at: iso(s.lastRunAt),
    last_snapshot_id: s.lastSnapshotId,
    last_error: s.lastError,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

function scheduleFromWire(body: z.infer<typeof SetScheduleSchema>): SetScheduleInput {
  const r = body.retention;
  const keep = {
    last: r.keep_last,
    hourly: r.keep_hourly,
    daily: r.keep_daily,
    weekly: r.keep_weekly,
    monthly: r.keep_monthly,
    yearly: r.keep_yearly,
    withinMs: r.keep_within === undefined ? undefined : duration(r.keep_within, "retention.keep_within must be a valid duration"),
  };
  const setKeep = Object.fromEntries(Object.entries(keep).filter(([, v]) => v !== undefined));
  return {
    intervalMs: body.interval === undefined ? undefined : duration(body.interval, "interval must be a valid duration"),
    cron: body.cron,
    timezone: body.timezone,
    maxCount: r.max_count ?? 0,
    maxAgeMs: r.max_age === undefined ? 0 : duration(r.max_age, "retention.max_age must be a valid duration"),
    keep: Object.keys(setKeep).length > 0 ? setKeep : null,
    namePrefix: body.name_prefix ?? undefined,
    metadata: body.metadata,
  };
}

function previewToWire(p: RetentionPreview): z.infer<typeof RetentionPreviewSchema> {
  const keep = p.decisions.filter((d) => d.keep).length;
  return {
    instance_id: p.instanceId,
    keep,
    remove: p.decisions.length - keep,
    snapshots: p.decisions.map(({ snapshot: s, keep, reasons }) => ({
      id: s.id,
      name: s.name,
      created_at: s.createdAt.toISOString(),
      pinned: s.pinned,
      ref_count: s.refCount,
      action: keep ? "keep" : "remove",
      reasons,
    })),
  };
}

export function scheduleRoutes(ctx: CoreContext) {
  const withCounts = (s: Schedule) => scheduleToWire(s, retentionCounts(ctx, s));
  return routeApp()
    .openapi(get, (c) => c.json(withCounts(getSchedule(ctx, c.req.valid("param").id)), 200))
    .openapi(put, (c) => c.json(withCounts(setSchedule(ctx, c.req.valid("param").id, scheduleFromWire(c.req.valid("json")))), 200))
    .openapi(preview, (c) => {
      // Without a body the validator leaves `{}`: no retention, no candidate.
      const body = c.req.valid("json");
      return c.json(previewToWire(previewRetention(ctx, c.req.valid("param").id, body?.retention ? scheduleFromWire(body) : undefined)), 200);
    })
    .openapi(remove, (c) => {
      deleteSchedule(ctx, c.req.valid("param").id);
      return c.body(null, 204);
    });
}
