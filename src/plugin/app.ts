// The Hono app: routes, validation errors, auth, /openapi.json, /docs, JSON 404s.
import type { CoreContext } from "../core/service/context.ts";
import { authMiddleware } from "./auth.ts";
import { docsRoutes } from "./docs-page.ts";
import { errorResponse, handleError } from "./errors.ts";
import { metricsRoute, requestMetrics } from "./metrics-route.ts";
import { emptyJsonAsEmptyObject, limitBody, requireBody } from "./request-body.ts";
import { serveOpenApiDoc } from "./openapi-doc.ts";
import { imageRoutes } from "./routes/images.ts";
import { ingressRoutes } from "./routes/ingresses.ts";
import { autoStandbyRoutes } from "./routes/auto-standby.ts";
import { guestRoutes } from "./routes/guest.ts";
import { instanceRoutes } from "./routes/instances.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { lineageRoutes } from "./routes/lineage.ts";
import { routeApp } from "./routes/route-helpers.ts";
import { serviceRoutes } from "./routes/service.ts";
import { capabilitiesRoutes } from "./routes/capabilities.ts";
import { snapshotRoutes } from "./routes/snapshots.ts";
import { portableRoutes } from "./routes/portable.ts";
import { remoteRoutes } from "./routes/remotes.ts";

export interface AppOptions {
  /** Bearer token required on every route but auth.ts's OPEN_ROUTES; undefined = no auth. */
  authToken?: string;
}

export function buildApp(ctx: CoreContext, opts: AppOptions = {}) {
  const app = routeApp();
  app.onError(handleError(ctx.logger, ctx.paths.root));
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.use("*", requestMetrics(ctx.metrics));
  app.use("*", authMiddleware(opts.authToken));
  app.use("*", limitBody);
  app.use("*", requireBody);
  app.use("*", emptyJsonAsEmptyObject);

  // Chained, so the app's type carries every route for the typed client (`hc<SnapvisorApp>`).
  const routes = app
    .route("/", serviceRoutes())
    .route("/", capabilitiesRoutes(ctx))
    .route("/", instanceRoutes(ctx))
    .route("/", guestRoutes(ctx))
    .route("/", imageRoutes(ctx))
    .route("/", remoteRoutes(ctx))
    .route("/", portableRoutes(ctx))
    .route("/", snapshotRoutes(ctx))
    .route("/", scheduleRoutes(ctx))
    .route("/", lineageRoutes(ctx))
    .route("/", ingressRoutes(ctx))
    .route("/", autoStandbyRoutes(ctx));

  serveOpenApiDoc(app, opts.authToken !== undefined);
  app.route("/", docsRoutes());
  metricsRoute(app, ctx.metrics);
  return routes;
}

export type SnapvisorApp = ReturnType<typeof buildApp>;
