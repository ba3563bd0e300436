// Image endpoints.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { getImage, listImages, registerImage, type Image } from "../../core/images/images.ts";
import type { Env } from "../env.ts";
import { CreateImageSchema, ImageParamSchema, ImageSchema } from "../schemas/image.ts";
import { errors, jsonBody, jsonResponse } from "./route-helpers.ts";

const tags = ["images"];

const list = createRoute({ method: "get", path: "/images", tags, responses: { 200: jsonResponse(z.array(ImageSchema), "Images") } });
const get = createRoute({
  method: "get",
  path: "/images/{name}",
  tags,
  request: { params: ImageParamSchema },
  responses: { 200: jsonResponse(ImageSchema, "The image"), ...errors(404) },
});
const create = createRoute({
  method: "post",
  path: "/images",
  tags,
  summary: "Register a local kernel/initrd/rootfs (copied into the data dir)",
  request: { body: jsonBody(CreateImageSchema) },
  responses: { 201: jsonResponse(ImageSchema, "The registered image"), ...errors(400, 409) },
});

const toWire = (r: Image): z.infer<typeof ImageSchema> => ({
  name: r.name,
  kernel: r.kernel,
  initrd: r.initrd,
  rootfs: r.rootfs,
  cmdline: r.cmdline,
  created_at: r.createdAt.toISOString(),
});

export function imageRoutes(app: OpenAPIHono<Env>, ctx: CoreContext): void {
  app.openapi(list, (c) => c.json(listImages(ctx).map(toWire), 200));
  app.openapi(get, (c) => c.json(toWire(getImage(ctx, c.req.valid("param").name)), 200));
  app.openapi(create, async (c) => c.json(toWire(await registerImage(ctx, c.req.valid("json"))), 201));
}
