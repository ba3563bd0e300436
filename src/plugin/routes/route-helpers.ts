// Small builders that keep each createRoute declaration to what is specific to it.
import type { z } from "@hono/zod-openapi";
import { ErrorSchema } from "../schemas/common.ts";

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request",
  401: "Missing or wrong bearer token",
  404: "Not found",
  409: "Conflict with the current state",
  500: "Internal error",
  501: "Not supported by this host or hypervisor",
};

export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { content: { "application/json": { schema } }, required };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

export function errors<S extends number>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, jsonResponse(ErrorSchema, ERROR_DESCRIPTIONS[s] ?? "Error")])) as Record<
    S,
    ReturnType<typeof jsonResponse<typeof ErrorSchema>>
  >;
}
