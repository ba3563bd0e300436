// Requests that reach into a guest through its agent: streamed exec and file copy.
import { z } from "@hono/zod-openapi";
import { MAX_GUEST_PATH_BYTES } from "../../hv/guest-agent/index.ts";
import { ExecSchema } from "./instance.ts";

export const ExecStreamSchema = ExecSchema.extend({
  stdin: z.string().optional().openapi({ description: "Written to the command's stdin (UTF-8), then closed; absent = /dev/null" }),
})
  .strict()
  .openapi("ExecStreamRequest");

/** One line of the NDJSON answer of /exec/stream. */
export const ExecStreamEventSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.enum(["stdout", "stderr"]), data: z.string() }),
    z.object({ type: z.literal("exit"), exit_code: z.number().int(), stdout_truncated: z.boolean(), stderr_truncated: z.boolean() }),
    z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
  ])
  .openapi("ExecStreamEvent");

export const GuestPathSchema = z
  .string()
  .refine((p) => p.startsWith("/"), "must be an absolute guest path")
  .refine((p) => !p.includes("\0"), "must not contain NUL")
  .refine((p) => Buffer.byteLength(p) <= MAX_GUEST_PATH_BYTES, `must be at most ${MAX_GUEST_PATH_BYTES} bytes`)
  .refine((p) => !p.endsWith("/"), "must name a file, not a directory")
  .openapi({ example: "/root/data.bin" });

export const FileQuerySchema = z.object({ path: GuestPathSchema }).strict();

export const FileUploadQuerySchema = z
  .object({
    path: GuestPathSchema,
    mode: z
      .string()
      .regex(/^[0-7]{3,4}$/, "must be an octal file mode such as 644")
      .optional()
      .openapi({ description: "Permissions of the new file, octal (default 644)" }),
  })
  .strict();

export const FileWrittenSchema = z.object({ path: z.string(), bytes: z.number().int() }).openapi("FileWritten");
