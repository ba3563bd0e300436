// /openapi.json: the routes' own document, plus what no single route says: how to authenticate, and how request
// bodies and query strings are read.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "./env.ts";
import { MAX_BODY_BYTES } from "./request-body.ts";

export const API_TITLE = "snapvisor";
export const API_VERSION = "0.1.0";

const BEARER_SCHEME = "bearerAuth";

const DESCRIPTION = [
  "VM snapshots on KVM hosts: instances, standby and restore, snapshots, forks, schedules, images.",
  "",
  "**Authentication.** On a TCP listener every route needs `Authorization: Bearer <token>` (the token is in " +
    "`<dataDir>/auth-token`, or configured) except `GET /health`, `GET /docs` and `GET /openapi.json`, which hold no " +
    "data. A refusal is 401 with `WWW-Authenticate: Bearer`. On the Unix socket the socket's file mode (0600) is the guard.",
  "",
  "**Request bodies** are JSON. Unknown fields are refused: a body with a field the schema does not declare is a 400 " +
    'naming it (`unknown field "target_sate"`), so a typo never silently falls back to a default. Bodies larger than ' +
    `${MAX_BODY_BYTES} bytes (1 MiB) are refused with 413 \`payload_too_large\`. The standby body is optional: ` +
    "an empty one is `{}`; start, stop and restore take no options (no body, an empty one, or `{}`).",
  "",
  "**Query strings.** Unknown query parameters are ignored; every documented one is validated (400 naming it).",
  "",
  "**Errors** are `{ code, message }` with the HTTP status; messages name no host path outside the data dir.",
].join("\n");

/** Serves the document; `authRequired` declares the bearer scheme the app enforces (not on a Unix socket). */
export function serveOpenApiDoc(app: OpenAPIHono<Env>, authRequired: boolean): void {
  if (authRequired) {
    app.openAPIRegistry.registerComponent("securitySchemes", BEARER_SCHEME, {
      type: "http",
      scheme: "bearer",
      description: "The server's token: `<dataDir>/auth-token`, SNAPVISOR_TOKEN, or the embedding app's `auth.token`.",
    });
  }
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: API_TITLE, version: API_VERSION, description: DESCRIPTION },
    ...(authRequired ? { security: [{ [BEARER_SCHEME]: [] }] } : {}),
  });
}
