// The Hono app: routes, validation errors, auth, /openapi.json, /docs, JSON 404s.
import type { MiddlewareHandler } from "hono";
import type { CoreContext } from "../core/service/context.ts";
import { authMiddleware } from "./auth.ts";
import { docsRoutes } from "./docs-page.ts";
import { errorResponse, handleError } from "./errors.ts";
import { metricsRoute, requestMetrics } from "./metrics-route.ts";
import { imageRoutes } from "./routes/images.ts";
import { instanceRoutes } from "./routes/instances.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { routeApp } from "./routes/route-helpers.ts";
import { serviceRoutes } from "./routes/service.ts";
import { snapshotRoutes } from "./routes/snapshots.ts";

export const API_TITLE = "snapvisor";
export const API_VERSION = "0.1.0";

export interface AppOptions {
  /** Bearer token required on every route but /health; undefined = no auth. */
  authToken?: string;
}

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
  const app = routeApp();
  app.onError(handleError(ctx.logger));
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.use("*", requestMetrics(ctx.metrics));
  app.use("*", authMiddleware(opts.authToken));
  app.use("*", requireBody);

  // Chained, so the app's type carries every route for the typed client (`hc<SnapvisorApp>`).
  const routes = app
    .route("/", serviceRoutes())
    .route("/", instanceRoutes(ctx))
    .route("/", imageRoutes(ctx))
    .route("/", snapshotRoutes(ctx))
    .route("/", scheduleRoutes(ctx));

  app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: API_TITLE, version: API_VERSION } });
  app.route("/", docsRoutes());
  metricsRoute(app, ctx.metrics);
  return routes;
}

export type SnapvisorApp = ReturnType<typeof buildApp>;
