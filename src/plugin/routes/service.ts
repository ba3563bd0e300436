// The service's own endpoint: a liveness probe, open even when the API requires a token.
import { createRoute, z } from "@hono/zod-openapi";
import { jsonResponse, routeApp } from "./route-helpers.ts";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["service"],
  security: [], // open: auth.ts OPEN_ROUTES
  summary: "Check the service is up",
  description: "Answers as soon as the server listens; needs no bearer token, so load balancers and probes can call it.",
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }).openapi("Health"), "The service is up", { status: "ok" }) },
});

export function serviceRoutes() {
  return routeApp().openapi(health, (c) => c.json({ status: "ok" as const }, 200));
}
