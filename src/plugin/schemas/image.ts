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

export const CreateImageSchema = z
  .object({
    name: NameSchema,
    kernel: z.string().min(1).openapi({ description: "absolute path of a kernel on this host" }),
    initrd: z.string().min(1).optional(),
    rootfs: z.string().min(1).optional().openapi({ description: "raw disk image; each instance gets a sparse copy" }),
    cmdline: z.string().optional(),
  })
  .openapi("CreateImageRequest");

export const ImageParamSchema = z.object({ name: z.string().openapi({ param: { name: "name", in: "path" } }) });
