// Image requests and responses.
import { z } from "@hono/zod-openapi";
import { NameSchema } from "./common.ts";

export const ImageSchema = z
  .object({
    name: z.string(),
    kernel: z.string(),
    initrd: z.string().nullable(),
    rootfs: z.string().nullable(),
    cmdline: z.string(),
    created_at: z.string().datetime(),
  })
  .openapi("Image");

/** PATH_MAX; the path must also lie in the server's image roots (checked by core, after resolving links). */
const SourcePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes("\0"), "must not contain NUL");

/** x86's kernel command line limit; it becomes one VMM argument, so no control characters. */
const MAX_CMDLINE_CHARS = 2048;

export const CreateImageSchema = z
  .object({
    name: NameSchema,
    kernel: SourcePathSchema.openapi({
      description: "absolute path of a kernel on this host, under one of the server's image roots (config imageRoots)",
    }),
    initrd: SourcePathSchema.optional().openapi({ description: "absolute path under an image root" }),
    rootfs: SourcePathSchema.optional().openapi({
      description: "raw disk image under an image root; each instance gets a sparse copy",
    }),
    cmdline: z
      .string()
      .max(MAX_CMDLINE_CHARS)
      .regex(/^[^\x00-\x1f\x7f]*$/, "must not contain control characters")
      .optional(),
  })
  .strict()
  .openapi("CreateImageRequest");

export const ImageParamSchema = z.object({ name: z.string().openapi({ param: { name: "name", in: "path" } }) });
