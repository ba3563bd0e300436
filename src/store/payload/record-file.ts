// How every payload record is stored: one JSON file, written atomically, with a `format_version` (absent in the
// records written before versions existed: version 1). A reader accepts every version up to the current one and
// refuses newer ones by name; a missing or malformed record is a PayloadError, whichever record it is.
import type { z } from "zod";
import { writeFileAtomic } from "../../fs/atomic.ts";

/** Version 2 added `format_version`, `created_at`, the memory file's name and the instance/snapshot identity. */
export const PAYLOAD_FORMAT_VERSION = 2;

export type PayloadErrorKind = "missing" | "unreadable" | "newer";

export class PayloadError extends Error {
  override readonly name = "PayloadError";
  constructor(
    readonly kind: PayloadErrorKind,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reads and parses the record at `path` with `schema` (which maps the file's fields to ours). */
export async function readRecord<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.output<S>> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new PayloadError("missing", path, `${what} ${path} is missing`);
  let json: unknown;
  try {
    json = await file.json();
  } catch (err) {
    throw new PayloadError("unreadable", path, `${what} ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const version = (json as { format_version?: unknown } | null)?.format_version;
  if (typeof version === "number" && version > PAYLOAD_FORMAT_VERSION) {
    throw new PayloadError("newer", path, `${what} ${path} has format version ${version}; this server reads up to ${PAYLOAD_FORMAT_VERSION}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PayloadError("unreadable", path, `${what} ${path} is not valid: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`);
  }
  return parsed.data;
}

/** Writes a record in the current format version (the caller's fields after it). */
export async function writeRecord(path: string, fields: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ format_version: PAYLOAD_FORMAT_VERSION, ...fields }, null, 2)}\n`);
}

/** `format_version` as stored: absent means a record from before versions existed. */
export const formatVersionOf = (value: number | undefined): number => value ?? 1;
