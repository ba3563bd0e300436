// What every route module shares: the app factory with the one validation hook, and small builders that keep
// each createRoute declaration to what is specific to it.
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Env } from "../env.ts";
import { errorResponse } from "../errors.ts";
import { validationMessage } from "../validation-message.ts";
import { ErrorSchema } from "../schemas/common.ts";

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request",
  401: "Missing or wrong bearer token",
  403: "A host file outside the image roots",
  404: "Not found",
  409: "Conflict with the current state",
  500: "Internal error",
  501: "Not supported by this host or hypervisor",
  507: "The data dir's disk cannot hold the result",
};

const ERROR_EXAMPLES: Record<number, z.infer<typeof ErrorSchema>> = {
  400: { code: "invalid_request", message: "name: must be lowercase letters, digits and dashes" },
  401: { code: "unauthorized", message: "missing bearer token" },
  403: { code: "forbidden", message: "kernel: the file is outside the image roots this server copies from (config imageRoots)" },
  404: { code: "not_found", message: "instance not found" },
  409: { code: "invalid_state", message: "cannot standby from state Stopped" },
  500: { code: "internal_error", message: "internal error" },
  501: { code: "not_supported", message: "volumes are not supported yet: attach data through the image's disk" },
  507: { code: "insufficient_storage", message: "snapshot needs 268435456 bytes (256.0 MiB) in the data dir /var/lib/snapvisor, 1048576 bytes (1.0 MiB) free" },
};

/** A request that fails its schema is a 400 `{code, message}` naming the field, never Hono's default body. */
const validationHook: NonNullable<ConstructorParameters<typeof OpenAPIHono<Env>>[0]>["defaultHook"] = (result, c) => {
  if (!result.success) return errorResponse(c, 400, "invalid_request", validationMessage(result.error.issues));
};

/** The app every route module chains its routes on (and the root app too), so validation answers alike. */
export function routeApp() {
  return new OpenAPIHono<Env>({ defaultHook: validationHook });
}

export function jsonBody<T extends z.ZodType>(schema: T, example: z.input<T>, required = true) {
  return { content: { "application/json": { schema, example } }, required };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string, example: z.input<T>) {
  return { content: { "application/json": { schema, example } }, description };
}

export function errors<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, jsonResponse(ErrorSchema, ERROR_DESCRIPTIONS[s] ?? "Error", ERROR_EXAMPLES[s] ?? ERROR_EXAMPLES[500]!)]),
  ) as Record<S, ReturnType<typeof jsonResponse<typeof ErrorSchema>>>;
}
