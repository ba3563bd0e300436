// The only place domain errors become HTTP: `{ code, message }` with the reference's status codes (§9).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, IncompatibleSnapshotError, isNoSpace, UnavailableError, type DomainErrorKind } from "../core/errors.ts";
import type { Logger } from "../core/service/logger.ts";
import { redactHostPaths } from "./redact-paths.ts";

const STATUS: Record<DomainErrorKind, ContentfulStatusCode> = {
  invalid_request: 400,
  not_found: 404,
  invalid_state: 409,
  conflict: 409,
  insufficient_resources: 409,
  forbidden: 403,
  insufficient_storage: 507,
  not_supported: 501,
  bad_gateway: 502,
  unavailable: 503,
  internal: 500,
};

const DEFAULT_CODE: Record<DomainErrorKind, string> = {
  invalid_request: "invalid_request",
  not_found: "not_found",
  invalid_state: "invalid_state",
  conflict: "conflict",
  insufficient_resources: "insufficient_resources",
  forbidden: "forbidden",
  insufficient_storage: "insufficient_storage",
  not_supported: "not_supported",
  bad_gateway: "bad_gateway",
  unavailable: "unavailable",
  internal: "internal_error",
};

/** Codes of errors raised by Hono middleware (everything else it raises is a malformed request). */
const HTTP_EXCEPTION_CODE: Partial<Record<number, string>> = {
  401: "unauthorized",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

export interface ErrorBody {
  code: string;
  message: string;
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ code, message } satisfies ErrorBody, status);
}

/** A domain error as a bare JSON response, for handlers outside Hono (the ingress proxy). */
export function domainErrorResponse(err: DomainError, dataDir: string): Response {
  const headers: Record<string, string> = err instanceof UnavailableError ? { "retry-after": String(err.retryAfterSeconds) } : {};
  return Response.json(streamedErrorBody(err, dataDir), { status: STATUS[err.kind], headers });
}

/** The body an error gets when it happens after a streamed response started (its status is already sent). */
export function streamedErrorBody(err: unknown, dataDir: string): ErrorBody {
  const code = err instanceof DomainError ? (err.code ?? DEFAULT_CODE[err.kind]) : DEFAULT_CODE.internal;
  return { code, message: redactHostPaths(err instanceof Error ? err.message : String(err), dataDir) };
}

/** Hono's onError: every thrown error ends here. Messages name no host path outside `dataDir` (the log keeps
 * them whole for the operator). */
export function handleError(logger: Logger, dataDir: string) {
  const reply = (c: Context, status: ContentfulStatusCode, code: string, message: string) =>
    errorResponse(c, status, code, redactHostPaths(message, dataDir));
  return async (err: Error, c: Context): Promise<Response> => {
    if (err instanceof DomainError) {
      if (err instanceof UnavailableError) c.header("Retry-After", String(err.retryAfterSeconds));
      if (err.kind === "internal") logger.error("request failed", { path: c.req.path, error: err.message, cause: String(err.cause ?? "") });
      if (err instanceof IncompatibleSnapshotError) {
        const reasons = err.reasons.map((r) => ({ code: r.code, message: redactHostPaths(r.message, dataDir) }));
        return c.json({ code: err.code!, message: redactHostPaths(err.message, dataDir), reasons }, STATUS[err.kind]);
      }
      return reply(c, STATUS[err.kind], err.code ?? DEFAULT_CODE[err.kind], err.message);
    }
    if (err instanceof HTTPException) {
      // Middleware such as bearerAuth puts its message and its WWW-Authenticate challenge in the response it carries.
      const carried = err.getResponse();
      const challenge = carried.headers.get("www-authenticate");
      if (challenge) c.header("WWW-Authenticate", challenge);
      const message = err.message || (await carried.text());
      return reply(c, err.status as ContentfulStatusCode, HTTP_EXCEPTION_CODE[err.status] ?? "invalid_request", message);
    }
    // A write that met a full disk outside any core step (a database row, on the data dir's disk too): 507 like
    // the steps' own, not a 500.
    if (isNoSpace(err)) {
      logger.warn("data dir disk full", { path: c.req.path, error: err.message });
      return reply(c, STATUS.insufficient_storage, DEFAULT_CODE.insufficient_storage, `the data dir's disk is full: ${err.message}`);
    }
    logger.error("unhandled error", { path: c.req.path, error: err.stack ?? String(err) });
    return reply(c, 500, "internal_error", err.message || "internal error");
  };
}
