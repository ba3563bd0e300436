// Request bodies at the boundary: one size limit for every route, a body where the reference requires one, and
// an empty JSON body read as `{}` where the body is optional.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "./errors.ts";

/** Largest request body. Every body is a small JSON document but the upload route's, exempted below. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** PUT /instances/{id}/files streams a file of any size (its own limit applies) and may be empty; POST
 * /snapshots/import streams an archive (checked chunk by chunk against its manifest). */
const UPLOAD = /\/instances\/[^/]+\/files$/;
const IMPORT = /\/snapshots\/import$/;
const isUpload = (method: string, path: string) => (method === "PUT" && UPLOAD.test(path)) || (method === "POST" && IMPORT.test(path));

/** Actions whose body is optional (reference §3.8: an empty standby body is `{}`; a hold, a verify and a push take none;
 * a retention preview without a candidate previews the current schedule). */
const OPTIONAL_BODY = /\/instances\/[^/]+\/(start|stop|standby|restore|auto-standby\/hold|snapshot-schedule\/preview)$|\/snapshots\/[^/]+\/(verify|push)$/;

const JSON_CONTENT_TYPE = /^application\/([a-z.-]+\+)?json/i;

const limit: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => errorResponse(c, 413, "payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB)`),
});

export const limitBody: MiddlewareHandler = (c, next) => (isUpload(c.req.method, c.req.path) ? next() : limit(c, next));

/** Every POST/PUT but the optional-body actions needs a body, even when `{}` would be valid (reference §9:
 * "request body is required"). */
export const requireBody: MiddlewareHandler = async (c, next) => {
  if ((c.req.method === "POST" || c.req.method === "PUT") && !OPTIONAL_BODY.test(c.req.path) && !isUpload(c.req.method, c.req.path)) {
    // Read through Hono's body cache (the validators read the same bytes); `limitBody` has bounded them.
    if (c.req.raw.body === null || (await c.req.arrayBuffer()).byteLength === 0) {
      return errorResponse(c, 400, "invalid_request", "request body is required");
    }
  }
  return next();
};

/** An optional body sent as `Content-Type: application/json` with nothing (or only whitespace) in it is `{}`,
 * as the reference's decoder reads it, instead of malformed JSON. Runs after `limitBody`, so the read is bounded. */
export const emptyJsonAsEmptyObject: MiddlewareHandler = async (c, next) => {
  const contentType = c.req.header("content-type");
  if (c.req.method === "POST" && OPTIONAL_BODY.test(c.req.path) && contentType && JSON_CONTENT_TYPE.test(contentType)) {
    const text = c.req.raw.body === null ? "" : await c.req.raw.text();
    const headers = new Headers(c.req.raw.headers);
    headers.delete("content-length");
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: text.trim() === "" ? "{}" : text, signal: c.req.raw.signal });
  }
  return next();
};
