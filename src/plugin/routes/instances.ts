// Instance endpoints: one createRoute per operation; each handler parses, calls one core function, returns.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { notSupported } from "../../core/errors.ts";
import { execInInstance } from "../../core/instances/exec.ts";
import { createInstance } from "../../core/instances/create.ts";
import { deleteInstance } from "../../core/instances/delete.ts";
import { listInstances } from "../../core/instances/list.ts";
import { readInstanceLog } from "../../core/instances/logs.ts";
import { startInstance } from "../../core/instances/start.ts";
import { stopInstance } from "../../core/instances/stop.ts";
import { loadInstance } from "../../core/instances/view.ts";
import { restoreInstance } from "../../core/instances/restore.ts";
import { standbyInstance } from "../../core/instances/standby.ts";
import type { Env } from "../env.ts";
import { decodeCursor, encodeCursor, NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import { byteSize, compression, delay, snapshotPolicy } from "../wire/request-values.ts";
import { IdParamSchema, PageQuerySchema } from "../schemas/common.ts";
import {
  CreateInstanceSchema,
  ExecResultSchema,
  ExecSchema,
  InstanceSchema,
  LogsQuerySchema,
  StandbySchema,
} from "../schemas/instance.ts";
import { instanceToWire } from "../wire/to-wire.ts";
import { errors, jsonBody, jsonResponse } from "./route-helpers.ts";

const tags = ["instances"];
const byId = { params: IdParamSchema };

const list = createRoute({
  method: "get",
  path: "/instances",
  tags,
  request: { query: PageQuerySchema },
  responses: { 200: jsonResponse(z.array(InstanceSchema), "Instances, oldest first") },
});

const create = createRoute({
  method: "post",
  path: "/instances",
  tags,
  request: { body: jsonBody(CreateInstanceSchema) },
  responses: { 201: jsonResponse(InstanceSchema, "The new, Stopped instance"), ...errors(400, 404, 501) },
});

const get = createRoute({
  method: "get",
  path: "/instances/{id}",
  tags,
  request: byId,
  responses: { 200: jsonResponse(InstanceSchema, "The instance"), ...errors(404) },
});

const remove = createRoute({
  method: "delete",
  path: "/instances/{id}",
  tags,
  request: byId,
  responses: { 204: { description: "Deleted" }, ...errors(404) },
});

const action = (name: string, summary: string, body?: z.ZodType) =>
  createRoute({
    method: "post",
    path: `/instances/{id}/${name}`,
    tags,
    summary,
    request: { ...byId, ...(body ? { body: jsonBody(body, false) } : {}) },
    responses: { 200: jsonResponse(InstanceSchema, "The instance afterwards"), ...errors(400, 404, 409, 501) },
  });

const exec = createRoute({
  method: "post",
  path: "/instances/{id}/exec",
  tags,
  request: { ...byId, body: jsonBody(ExecSchema) },
  responses: { 200: jsonResponse(ExecResultSchema, "Exit code and output"), ...errors(400, 404, 409) },
});

const logs = createRoute({
  method: "get",
  path: "/instances/{id}/logs",
  tags,
  request: { ...byId, query: LogsQuerySchema },
  responses: {
    200: { content: { "text/plain": { schema: z.string() } }, description: "Tail of the serial console" },
    ...errors(404),
  },
});

export function instanceRoutes(app: OpenAPIHono<Env>, ctx: CoreContext): void {
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = await listInstances(ctx, { limit, after: decodeCursor(cursor) });
    if (page.next) c.header(NEXT_CURSOR_HEADER, encodeCursor(page.next));
    return c.json(page.items.map(instanceToWire), 200);
  });

  app.openapi(create, async (c) => {
    const body = c.req.valid("json");
    if (body.volumes.length > 0) throw notSupported("volumes are not supported yet: attach data through the image's disk");
    const view = await createInstance(ctx, {
      name: body.name,
      image: body.image,
      memoryBytes: byteSize(body.size, "size"),
      overlayBytes: byteSize(body.overlay_size, "overlay_size"),
      vcpus: body.vcpus,
      hypervisor: body.hypervisor,
      env: body.env,
      tags: body.tags,
      snapshotPolicy: snapshotPolicy(body.snapshot_policy),
      skipGuestAgent: body.skip_guest_agent,
    });
    return c.json(instanceToWire(view), 201);
  });

  app.openapi(get, async (c) => c.json(instanceToWire(await loadInstance(ctx, c.req.valid("param").id)), 200));

  app.openapi(remove, async (c) => {
    await deleteInstance(ctx, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(action("start", "Cold boot a Stopped instance"), async (c) =>
    c.json(instanceToWire(await startInstance(ctx, c.req.valid("param").id)), 200),
  );
  app.openapi(action("stop", "Power off (graceful, then kill)"), async (c) =>
    c.json(instanceToWire(await stopInstance(ctx, c.req.valid("param").id)), 200),
  );
  app.openapi(action("standby", "Save memory to disk and end the VMM", StandbySchema), async (c) => {
    const body = (c.req.valid("json" as never) ?? {}) as z.infer<typeof StandbySchema>;
    const view = await standbyInstance(ctx, c.req.valid("param").id, {
      compression: compression(body.compression, "invalid_snapshot_compression"),
      compressionDelayMs:
        body.compression_delay === undefined
          ? undefined
          : delay(body.compression_delay, "compression_delay", "invalid_compression_delay"),
    });
    return c.json(instanceToWire(view), 200);
  });
  app.openapi(action("restore", "Resume a Standby instance"), async (c) =>
    c.json(instanceToWire(await restoreInstance(ctx, c.req.valid("param").id)), 200),
  );

  app.openapi(exec, async (c) => {
    const { command, timeout_ms } = c.req.valid("json");
    const r = await execInInstance(ctx, c.req.valid("param").id, command, timeout_ms);
    return c.json({ exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr }, 200);
  });

  app.openapi(logs, async (c) => c.text(await readInstanceLog(ctx, c.req.valid("param").id, c.req.valid("query").lines), 200));
}
