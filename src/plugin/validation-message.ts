// The one sentence a 400 for a request that fails its schema carries: the field it is about, first.
import type { z } from "@hono/zod-openapi";

/** An unknown field wins over the other issues: a typo (`target_sate`) also makes the field it meant look
 * missing, and the typo is what the client has to fix. */
export function validationMessage(issues: readonly z.core.$ZodIssue[]): string {
  const unknown = issues.find((issue) => issue.code === "unrecognized_keys");
  if (unknown) {
    const names = unknown.keys.map((key) => JSON.stringify([...unknown.path, key].join(".")));
    return `unknown field${names.length > 1 ? "s" : ""} ${names.join(", ")}`;
  }
  const issue = issues[0]!;
  const field = issue.path.join(".");
  return field && !issue.message.startsWith(field) ? `${field}: ${issue.message}` : issue.message;
}
