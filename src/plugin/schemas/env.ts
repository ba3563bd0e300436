// An instance's `env`: every exec exports it in the guest shell (`export NAME='value'`), so what create accepts
// must be exportable there. Checked on the raw body, before zod copies the record (a "__proto__" key would be
// dropped by the copy, silently).
import { z } from "@hono/zod-openapi";
import { ENV_NAME_PATTERN } from "../../hv/guest-agent/index.ts";

export const MAX_ENV_ENTRIES = 128;
export const MAX_ENV_NAME_CHARS = 128;
/** Names and values together, UTF-8: the env travels with every exec request. */
export const MAX_ENV_BYTES = 64 * 1024;

/** Why `env` cannot be exported by the guest shell, naming the key; undefined when it can (or is no object). */
export function envProblem(env: unknown): string | undefined {
  if (typeof env !== "object" || env === null || Array.isArray(env)) return undefined; // the record schema says so
  const names = Object.keys(env).sort(); // sorted: a body with several bad keys always gets the same error
  if (names.length > MAX_ENV_ENTRIES) return `too many variables: ${names.length} (max ${MAX_ENV_ENTRIES})`;
  let bytes = 0;
  for (const name of names) {
    const key = JSON.stringify(name);
    if (name.length > MAX_ENV_NAME_CHARS) return `name ${key.slice(0, 40)}… is longer than ${MAX_ENV_NAME_CHARS} characters`;
    if (name === "__proto__") return `name ${key} is reserved`;
    if (!ENV_NAME_PATTERN.test(name)) {
      return `invalid name ${key}: must start with a letter or underscore and hold only letters, digits and underscores`;
    }
    const value: unknown = (env as Record<string, unknown>)[name];
    if (typeof value !== "string") return `value of ${key} must be a string`;
    if (value.includes("\0")) return `value of ${key} contains a NUL character`;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ENV_BYTES) return `names and values take ${bytes} bytes (max ${MAX_ENV_BYTES})`;
  return undefined;
}

export const EnvSchema = z
  .preprocess(
    (raw, ctx) => {
      const problem = envProblem(raw);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
      return raw;
    },
    z.record(z.string(), z.string()),
  )
  .openapi("Env", {
    description: `exported to every exec: names are shell identifiers ([A-Za-z_][A-Za-z0-9_]*, at most ${MAX_ENV_NAME_CHARS} characters), values hold no NUL; at most ${MAX_ENV_ENTRIES} variables and ${MAX_ENV_BYTES} bytes`,
    example: { GREETING: "hello" },
  });
