// Image endpoints.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { getImage, listImages, registerImage, type Image } from "../../core/images/images.ts";
import { CreateImageSchema, ImageParamSchema, ImageSchema } from "../schemas/image.ts";
import { imageExample, requestExamples } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["images"];

const list = createRoute({
  method: "get",
  path: "/images",
  tags,
  summary: "List images",
  description:
    "Registered images, including `default` (the guest image scripts/build-guest produces). When the server starts with a build whose contents differ, that build becomes `default` and the files it replaces stay listed as `default@<first 12 hex digits of their content hash>`, never removed: instances and snapshots name them.",
  responses: { 200: jsonResponse(z.array(ImageSchema), "Images", [imageExample]) },
});
const get = createRoute({
  method: "get",
  path: "/images/{name}",
  tags,
  summary: "Get an image",
  description: "Where the image's kernel, initrd and root disk are stored, and its kernel command line.",
  request: { params: ImageParamSchema },
  responses: { 200: jsonResponse(ImageSchema, "The image", imageExample), ...errors(404) },
});
const create = createRoute({
  method: "post",
  path: "/images",
  tags,
  summary: "Register an image",
  description: "Copies a local kernel, optional initrd and optional raw root disk into the data dir; instances then boot from it by name.",
  request: { body: jsonBody(CreateImageSchema, requestExamples.createImage) },
  responses: { 201: jsonResponse(ImageSchema, "The registered image", imageExample), ...errors(400, 403, 409, 507) },
});

const toWire = (r: Image): z.infer<typeof ImageSchema> => ({
  name: r.name,
  kernel: r.kernel,
  initrd: r.initrd,
  rootfs: r.rootfs,
  cmdline: r.cmdline,
  created_at: r.createdAt.toISOString(),
});

export function imageRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(list, (c) => c.json(listImages(ctx).map(toWire), 200))
    .openapi(get, (c) => c.json(toWire(getImage(ctx, c.req.valid("param").name)), 200))
    .openapi(create, async (c) => c.json(toWire(await registerImage(ctx, c.req.valid("json"))), 201));
}
