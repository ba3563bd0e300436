// Bearer-token auth (product.md §8): required on TCP listeners, optional for an embedded app.
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";

/** `token` undefined = no auth (a Unix socket is guarded by its file permissions). /health stays open for probes.
 * A refusal is an HTTPException(401), rendered by errors.ts like every other error. */
export function authMiddleware(token: string | undefined): MiddlewareHandler {
  if (token === undefined) return async (_c, next) => next();
  const check = bearerAuth({
    token,
    noAuthenticationHeader: { message: "missing bearer token" },
    invalidTokenMessage: "invalid bearer token",
    invalidAuthenticationHeader: { message: "invalid Authorization header" },
  });
  return async (c, next) => (c.req.path.endsWith("/health") ? next() : check(c, next));
}
