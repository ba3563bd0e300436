// Snapshot schedule endpoints: GET/PUT/DELETE /instances/{id}/snapshot-schedule.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { invalidRequest } from "../../core/errors.ts";
import { GoDurationError, formatGoDuration, parseGoDuration } from "../wire/go-duration.ts";
import { deleteSchedule, getSchedule, setSchedule, type Schedule } from "../../core/schedules/schedules.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { ScheduleSchema, SetScheduleSchema } from "../schemas/schedule.ts";
import { requestExamples, scheduleExample } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["schedules"];
const path = "/instances/{id}/snapshot-schedule";

const get = createRoute({
  method: "get",
  path,
  tags,
  summary: "Get an instance's snapshot schedule",
  description: "The interval, retention and the outcome of the last run.",
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule", scheduleExample), ...errors(404) },
});
const put = createRoute({
  method: "put",
  path,
  tags,
  summary: "Set an instance's snapshot schedule",
  description:
    "Creates or replaces the schedule: a snapshot every `interval` (a Go duration such as `1h`), keeping at most `retention.max_count` " +
    "and none older than `retention.max_age`. Snapshots that have forks are never removed by retention.",
  request: { params: IdParamSchema, body: jsonBody(SetScheduleSchema, requestExamples.setSchedule) },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule", scheduleExample), ...errors(400, 404) },
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

export function scheduleToWire(s: Schedule): z.infer<typeof ScheduleSchema> {
  return {
    instance_id: s.instanceId,
    interval: formatGoDuration(s.intervalMs),
    name_prefix: s.namePrefix,
    metadata: s.metadata,
    retention: { max_count: s.maxCount, ...(s.maxAgeMs > 0 ? { max_age: formatGoDuration(s.maxAgeMs) } : {}) },
    next_run_at: s.nextRunAt.toISOString(),
    last_run_at: iso(s.lastRunAt),
    last_snapshot_id: s.lastSnapshotId,
    last_error: s.lastError,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

export function scheduleRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(get, (c) => c.json(scheduleToWire(getSchedule(ctx, c.req.valid("param").id)), 200))
    .openapi(put, (c) => {
      const body = c.req.valid("json");
      const schedule = setSchedule(ctx, c.req.valid("param").id, {
        intervalMs: duration(body.interval, "interval must be a valid duration"),
        maxCount: body.retention.max_count ?? 0,
        maxAgeMs: body.retention.max_age === undefined ? 0 : duration(body.retention.max_age, "retention.max_age must be a valid duration"),
        namePrefix: body.name_prefix ?? undefined,
        metadata: body.metadata,
      });
      return c.json(scheduleToWire(schedule), 200);
    })
    .openapi(remove, (c) => {
      deleteSchedule(ctx, c.req.valid("param").id);
      return c.body(null, 204);
    });
}
