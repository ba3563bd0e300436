// The Hono app: routes, validation errors, auth, /openapi.json, /docs, JSON 404s.
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { CoreContext } from "../core/service/context.ts";
import { authMiddleware } from "./auth.ts";
import { DOCS_PAGE } from "./docs-page.ts";
import type { Env } from "./env.ts";
import { errorResponse, handleError } from "./errors.ts";
import { metricsRoute, requestMetrics } from "./metrics-route.ts";
import { imageRoutes } from "./routes/images.ts";
import { instanceRoutes } from "./routes/instances.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { snapshotRoutes } from "./routes/snapshots.ts";
import { jsonResponse } from "./routes/route-helpers.ts";

export const API_TITLE = "snapvisor";
export const API_VERSION = "0.1.0";

export interface AppOptions {
  /** Bearer token required on every route but /health; undefined = no auth. */
  authToken?: string;
}

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["service"],
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }).openapi("Health"), "The service is up") },
});

/** Actions whose body is optional (reference §3.8: an empty standby body is `{}`). */
const OPTIONAL_BODY = /\/instances\/[^/]+\/(start|stop|standby|restore)$/;

/** Every other POST/PUT needs a body, even when `{}` would be valid (reference §9: "request body is required"). */
const requireBody: MiddlewareHandler = async (c, next) => {
  const method = c.req.method;
  if ((method === "POST" || method === "PUT") && !OPTIONAL_BODY.test(c.req.path)) {
    if (c.req.raw.body === null || c.req.header("content-length") === "0") {
      return errorResponse(c, 400, "invalid_request", "request body is required");
    }
  }
  return next();
};

export function buildApp(ctx: CoreContext, opts: AppOptions = {}) {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0]!;
        const field = issue.path.join(".");
        const message = field && !issue.message.startsWith(field) ? `${field}: ${issue.message}` : issue.message;
        return errorResponse(c, 400, "invalid_request", message);
      }
    },
  });
  app.onError(handleError(ctx.logger));
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.use("*", requestMetrics(ctx.metrics));
  app.use("*", authMiddleware(opts.authToken));
  app.use("*", requireBody);

  app.openapi(health, (c) => c.json({ status: "ok" as const }, 200));
  instanceRoutes(app, ctx);
  imageRoutes(app, ctx);
  snapshotRoutes(app, ctx);
  scheduleRoutes(app, ctx);

  app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: API_TITLE, version: API_VERSION } });
  app.get("/docs", (c) => c.html(DOCS_PAGE));
  metricsRoute(app, ctx.metrics);
  return app;
}

export type SnapvisorApp = ReturnType<typeof buildApp>;
