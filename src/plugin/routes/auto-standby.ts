// auto_standby endpoints (reference-network §4.3, plus a release for a hold): PATCH /instances/{id} replaces the
// policy, GET …/auto-standby/status reports the countdown, POST/DELETE …/auto-standby/hold hold and release.
import { createRoute } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { setAutoStandbyPolicy } from "../../core/ingress/auto-standby-policy.ts";
import { autoStandbyStatus, holdAutoStandby, releaseAutoStandby } from "../../core/ingress/auto-standby.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { InstanceSchema } from "../schemas/instance.ts";
import { AutoStandbyStatusSchema, PatchInstanceSchema } from "../schemas/auto-standby.ts";
import { autoStandbyFromWire, autoStandbyStatusToWire } from "../wire/auto-standby.ts";
import { instanceToWire } from "../wire/to-wire.ts";
import { instanceExample } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";
import { ID_NOTE } from "./instances.ts";

const tags = ["instances"];
const byId = { params: IdParamSchema };

const statusExample = {
  supported: true,
  configured: true,
  enabled: true,
  eligible: true,
  status: "idle_countdown" as const,
  reason: "idle_timeout_not_elapsed",
  active_inbound_connections: 0,
  tracking_mode: "ingress_and_agent",
  idle_timeout: "5m0s",
  idle_since: "2026-01-01T00:00:00.000Z",
  last_inbound_activity_at: "2026-01-01T00:00:00.000Z",
  next_standby_at: "2026-01-01T00:05:00.000Z",
  hold_until: null,
  countdown_remaining: "4m12s",
};

const patch = createRoute({
  method: "patch",
  path: "/instances/{id}",
  tags,
  summary: "Update an instance's auto-standby policy",
  description: `\`auto_standby\` replaces the whole policy (invalid: 400 invalid_auto_standby). ${ID_NOTE}`,
  request: { ...byId, body: jsonBody(PatchInstanceSchema, { auto_standby: { enabled: true, idle_timeout: "5m" } }) },
  responses: { 200: jsonResponse(InstanceSchema, "The instance afterwards", instanceExample), ...errors(400, 404) },
});

const statusRoute = <M extends "get" | "post" | "delete", P extends string>(method: M, path: P, summary: string, description: string) =>
  createRoute({
    method,
    path,
    tags,
    summary,
    description: `${description} ${ID_NOTE}`,
    request: byId,
    responses: { 200: jsonResponse(AutoStandbyStatusSchema, "Auto-standby status", statusExample), ...errors(404, 409) },
  });

const status = statusRoute("get", "/instances/{id}/auto-standby/status", "Auto-standby status", "Whether and when the instance goes to Standby for being idle.");
const hold = statusRoute(
  "post",
  "/instances/{id}/auto-standby/hold",
  "Hold off auto-standby",
  "No idle standby before now + idle_timeout; replaces an earlier hold. A Standby instance (or one going there) is 409 instance_in_standby.",
);
const release = statusRoute("delete", "/instances/{id}/auto-standby/hold", "Release a hold", "The countdown decides again.");

export function autoStandbyRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(patch, async (c) => {
      const policy = autoStandbyFromWire(c.req.valid("json").auto_standby);
      return c.json(instanceToWire(await setAutoStandbyPolicy(ctx, c.req.valid("param").id, policy)), 200);
    })
    .openapi(status, async (c) => c.json(autoStandbyStatusToWire(await autoStandbyStatus(ctx, c.req.valid("param").id)), 200))
    .openapi(hold, async (c) => c.json(autoStandbyStatusToWire(await holdAutoStandby(ctx, c.req.valid("param").id)), 200))
    .openapi(release, async (c) => c.json(autoStandbyStatusToWire(await releaseAutoStandby(ctx, c.req.valid("param").id)), 200));
}
