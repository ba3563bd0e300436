// The only place domain errors become HTTP: `{ code, message }` with the reference's status codes (§9).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type DomainErrorKind } from "../core/errors.ts";
import type { Logger } from "../core/service/logger.ts";

const STATUS: Record<DomainErrorKind, ContentfulStatusCode> = {
  invalid_request: 400,
  not_found: 404,
  invalid_state: 409,
  conflict: 409,
  insufficient_resources: 409,
  not_supported: 501,
  forbidden: 403,
  insufficient_storage: 507,
  internal: 500,
};

const DEFAULT_CODE: Record<DomainErrorKind, string> = {
  invalid_request: "invalid_request",
  not_found: "not_found",
  invalid_state: "invalid_state",
  conflict: "conflict",
  insufficient_resources: "insufficient_resources",
  not_supported: "not_supported",
  forbidden: "forbidden",
  insufficient_storage: "insufficient_storage",
  internal: "internal_error",
};

export interface ErrorBody {
  code: string;
  message: string;
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ code, message } satisfies ErrorBody, status);
}

/** Hono's onError: every thrown error ends here. */
export function handleError(logger: Logger) {
  return async (err: Error, c: Context): Promise<Response> => {
    if (err instanceof DomainError) {
      if (err.kind === "internal") logger.error("request failed", { path: c.req.path, error: err.message, cause: String(err.cause ?? "") });
      return errorResponse(c, STATUS[err.kind], err.code ?? DEFAULT_CODE[err.kind], err.message);
    }
    if (err instanceof HTTPException) {
      // Middleware such as bearerAuth puts its message in the response it carries, not in err.message.
      const message = err.message || (await err.getResponse().text());
      return errorResponse(c, err.status as ContentfulStatusCode, err.status === 401 ? "unauthorized" : "invalid_request", message);
    }
    logger.error("unhandled error", { path: c.req.path, error: err.stack ?? String(err) });
    return errorResponse(c, 500, "internal_error", err.message || "internal error");
  };
}
