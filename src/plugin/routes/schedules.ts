// Snapshot schedule endpoints: GET/PUT/DELETE /instances/{id}/snapshot-schedule.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { invalidRequest } from "../../core/errors.ts";
import { GoDurationError, formatGoDuration, parseGoDuration } from "../wire/go-duration.ts";
import { deleteSchedule, getSchedule, setSchedule, type Schedule } from "../../core/schedules/schedules.ts";
import type { Env } from "../env.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { ScheduleSchema, SetScheduleSchema } from "../schemas/schedule.ts";
import { errors, jsonBody, jsonResponse } from "./route-helpers.ts";

const tags = ["schedules"];
const path = "/instances/{id}/snapshot-schedule";

const get = createRoute({
  method: "get",
  path,
  tags,
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule"), ...errors(404) },
});
const put = createRoute({
  method: "put",
  path,
  tags,
  summary: "Create or update the instance's snapshot schedule",
  request: { params: IdParamSchema, body: jsonBody(SetScheduleSchema) },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule"), ...errors(400, 404) },
});
const remove = createRoute({
  method: "delete",
  path,
  tags,
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

export function scheduleRoutes(app: OpenAPIHono<Env>, ctx: CoreContext): void {
  app.openapi(get, (c) => c.json(scheduleToWire(getSchedule(ctx, c.req.valid("param").id)), 200));
  app.openapi(put, (c) => {
    const body = c.req.valid("json");
    const schedule = setSchedule(ctx, c.req.valid("param").id, {
      intervalMs: duration(body.interval, "interval must be a valid duration"),
      maxCount: body.retention.max_count ?? 0,
      maxAgeMs: body.retention.max_age === undefined ? 0 : duration(body.retention.max_age, "retention.max_age must be a valid duration"),
      namePrefix: body.name_prefix ?? undefined,
      metadata: body.metadata,
    });
    return c.json(scheduleToWire(schedule), 200);
  });
  app.openapi(remove, (c) => {
    deleteSchedule(ctx, c.req.valid("param").id);
    return c.body(null, 204);
  });
}
