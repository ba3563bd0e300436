// /metrics (Prometheus text) and the middleware that counts and times every request by its route pattern.
import type { Hono, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../core/service/metrics.ts";
import type { Env } from "./env.ts";

export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    // The matched pattern (/instances/:id), not the raw path, keeps label cardinality bounded.
    const route = routePath(c, -1) || "unmatched";
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  };
}

export function metricsRoute(app: Hono<Env>, metrics: Metrics): void {
  app.get("/metrics", async (c) => c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }));
}
