// Bearer-token auth (product.md §8): required on TCP listeners; an embedding service passes a token or `false`.
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { baseRoutePath, matchedRoutes } from "hono/route";
import { DOCS_PATHS } from "./docs-page.ts";

/** What `createSnapvisor({ auth })` takes: a token, or `false` when the host app guards the routes itself. */
export type AuthOption = { token: string } | false;

/** Shortest token accepted: 16 characters (the generated one has 32). */
export const MIN_TOKEN_LENGTH = 16;
/** RFC 6750 b64token: anything else could never be sent in an `Authorization: Bearer` header. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;
const REALM = "snapvisor";

/** GET routes served without a token: the liveness probe and the API reference (they hold no data). */
export const OPEN_ROUTES = ["/health", "/openapi.json", ...DOCS_PATHS];

export class AuthConfigError extends Error {
  override readonly name = "AuthConfigError";
}

const HOW_TO_SET =
  `pass createSnapvisor({ auth: { token } }) with a secret of at least ${MIN_TOKEN_LENGTH} characters ` +
  "(e.g. from an environment variable), or auth: false when your own app authenticates every request";

/** The token the app requires, or undefined for `auth: false`. Anything else (omitted, undefined, blank) refuses
 * to start: a missing secret must never quietly mean "no auth". */
export function requiredToken(auth: AuthOption | undefined): string | undefined {
  if (auth === false) return undefined;
  if (auth === undefined || auth === null) throw new AuthConfigError(`the auth option is required: ${HOW_TO_SET}`);
  return checkedToken(auth.token, `auth.token: ${HOW_TO_SET}`);
}

/** Validates a token from any source; `howToSet` ends the message so the operator knows what to change. */
export function checkedToken(token: unknown, howToSet: string): string {
  if (typeof token !== "string" || token.trim() === "") throw new AuthConfigError(`the bearer token is empty: ${howToSet}`);
  if (token.length < MIN_TOKEN_LENGTH) throw new AuthConfigError(`the bearer token is shorter than ${MIN_TOKEN_LENGTH} characters: ${howToSet}`);
  if (!TOKEN_PATTERN.test(token)) {
    throw new AuthConfigError(`the bearer token may hold only letters, digits and . _ ~ + / - (then = padding): ${howToSet}`);
  }
  return token;
}

/** True when the request is routed to one of OPEN_ROUTES of this app, wherever the app is mounted. Decided from
 * the matched route, not the request path, so `/instances/health` or `/x/health` are never open. */
function isOpenRoute(c: Parameters<MiddlewareHandler>[0]): boolean {
  const handler = matchedRoutes(c).at(-1);
  if (!handler || handler.method !== "GET") return false;
  const mount = baseRoutePath(c).replace(/\/+$/, "");
  return OPEN_ROUTES.some((route) => handler.path === mount + route);
}

/** `token` undefined = no auth (`auth: false`, or a Unix socket guarded by its file mode).
 * A refusal is an HTTPException, rendered by errors.ts like every other error, with its WWW-Authenticate header. */
export function authMiddleware(token: string | undefined): MiddlewareHandler {
  if (token === undefined) return async (_c, next) => next();
  const challenge = `Bearer realm="${REALM}"`;
  const check = bearerAuth({
    token,
    realm: REALM,
    noAuthenticationHeader: { message: "missing bearer token", wwwAuthenticateHeader: challenge },
    invalidToken: { message: "invalid bearer token", wwwAuthenticateHeader: `${challenge}, error="invalid_token"` },
    invalidAuthenticationHeader: {
      message: "invalid Authorization header: expected `Bearer <token>`",
      wwwAuthenticateHeader: `${challenge}, error="invalid_request"`,
    },
  });
  return async (c, next) => (isOpenRoute(c) ? next() : check(c, next));
}
