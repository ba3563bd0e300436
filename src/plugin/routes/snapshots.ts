// Snapshot endpoints, including restore into the source and forks from a snapshot or an instance.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { invalidRequest } from "../../core/errors.ts";
import { forkInstance, forkSnapshot } from "../../core/instances/fork.ts";
import { createSnapshot } from "../../core/snapshots/create.ts";
import { deleteSnapshot } from "../../core/snapshots/delete.ts";
import { restoreSnapshot } from "../../core/snapshots/restore.ts";
import { SNAPSHOT_KINDS, getSnapshot, listSnapshots } from "../../core/snapshots/view.ts";
import { validateTags } from "../../core/tags.ts";
import { decodeCursor, encodeCursor, NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import type { Env } from "../env.ts";
import { compression } from "../wire/request-values.ts";
import { IdParamSchema, PageQuerySchema } from "../schemas/common.ts";
import { ForkInstanceSchema, InstanceSchema } from "../schemas/instance.ts";
import {
  CreateSnapshotSchema,
  ForkSnapshotSchema,
  RestoreSnapshotSchema,
  SnapshotParamSchema,
  SnapshotSchema,
} from "../schemas/snapshot.ts";
import { instanceToWire, snapshotToWire } from "../wire/to-wire.ts";
import { errors, jsonBody, jsonResponse } from "./route-helpers.ts";

const tags = ["snapshots"];

const ListQuerySchema = PageQuerySchema.extend({
  source_instance_id: z.string().optional(),
  kind: z.enum(SNAPSHOT_KINDS, { error: "kind must be one of Standby, Stopped" }).optional(),
  name: z.string().optional(),
}).openapi({ description: "Filters are ANDed; tags[key]=value pairs must all match exactly." });

const list = createRoute({
  method: "get",
  path: "/snapshots",
  tags,
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(z.array(SnapshotSchema), "Snapshots, oldest first"), ...errors(400) },
});
const get = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}",
  tags,
  request: { params: SnapshotParamSchema },
  responses: { 200: jsonResponse(SnapshotSchema, "The snapshot"), ...errors(404) },
});
const remove = createRoute({
  method: "delete",
  path: "/snapshots/{snapshotId}",
  tags,
  request: { params: SnapshotParamSchema },
  responses: { 204: { description: "Deleted" }, ...errors(404, 409) },
});
const fork = createRoute({
  method: "post",
  path: "/snapshots/{snapshotId}/fork",
  tags,
  summary: "New instance from a snapshot (memory hard-linked)",
  request: { params: SnapshotParamSchema, body: jsonBody(ForkSnapshotSchema) },
  responses: { 201: jsonResponse(InstanceSchema, "The fork"), ...errors(400, 404, 409, 501) },
});
const create = createRoute({
  method: "post",
  path: "/instances/{id}/snapshots",
  tags,
  request: { params: IdParamSchema, body: jsonBody(CreateSnapshotSchema) },
  responses: { 201: jsonResponse(SnapshotSchema, "The snapshot"), ...errors(400, 404, 409, 501) },
});
const restore = createRoute({
  method: "post",
  path: "/instances/{id}/snapshots/{snapshotId}/restore",
  tags,
  summary: "Put the source instance back to a snapshot",
  request: { params: IdParamSchema.extend(SnapshotParamSchema.shape), body: jsonBody(RestoreSnapshotSchema) },
  responses: { 200: jsonResponse(InstanceSchema, "The instance afterwards"), ...errors(400, 404, 409, 501) },
});
const forkFromInstance = createRoute({
  method: "post",
  path: "/instances/{id}/fork",
  tags: ["instances"],
  summary: "New instance from another instance's current state",
  request: { params: IdParamSchema, body: jsonBody(ForkInstanceSchema) },
  responses: { 201: jsonResponse(InstanceSchema, "The fork"), ...errors(400, 404, 409, 501) },
});

/** `tags[key]=value` query pairs (deepObject). */
function tagFilter(query: Record<string, string>): Record<string, string> | undefined {
  const pairs = Object.entries(query).flatMap(([k, v]) => {
    const m = /^tags\[(.+)\]$/.exec(k);
    return m ? [[m[1]!, v] as const] : [];
  });
  if (pairs.length === 0) return undefined;
  try {
    return validateTags(Object.fromEntries(pairs), "tags filter");
  } catch (err) {
    throw invalidRequest(err instanceof Error ? err.message : String(err));
  }
}

export function snapshotRoutes(app: OpenAPIHono<Env>, ctx: CoreContext): void {
  app.openapi(list, (c) => {
    const q = c.req.valid("query");
    const page = listSnapshots(
      ctx,
      { sourceInstanceId: q.source_instance_id, kind: q.kind, name: q.name, tags: tagFilter(c.req.query()) },
      { limit: q.limit, after: decodeCursor(q.cursor) },
    );
    if (page.next) c.header(NEXT_CURSOR_HEADER, encodeCursor(page.next));
    return c.json(page.items.map(snapshotToWire), 200);
  });
  app.openapi(get, (c) => c.json(snapshotToWire(getSnapshot(ctx, c.req.valid("param").snapshotId)), 200));
  app.openapi(remove, async (c) => {
    await deleteSnapshot(ctx, c.req.valid("param").snapshotId);
    return c.body(null, 204);
  });
  app.openapi(fork, async (c) => {
    const body = c.req.valid("json");
    const view = await forkSnapshot(ctx, c.req.valid("param").snapshotId, {
      name: body.name,
      targetState: body.target_state,
      targetHypervisor: body.target_hypervisor,
    });
    return c.json(instanceToWire(view), 201);
  });
  app.openapi(create, async (c) => {
    const body = c.req.valid("json");
    const view = await createSnapshot(ctx, c.req.valid("param").id, {
      kind: body.kind,
      name: body.name,
      tags: body.tags,
      compression: compression(body.compression, "invalid_snapshot_compression"),
    });
    return c.json(snapshotToWire(view), 201);
  });
  app.openapi(restore, async (c) => {
    const { id, snapshotId } = c.req.valid("param");
    const body = c.req.valid("json");
    const view = await restoreSnapshot(ctx, id, snapshotId, { targetState: body.target_state, targetHypervisor: body.target_hypervisor });
    return c.json(instanceToWire(view), 200);
  });
  app.openapi(forkFromInstance, async (c) => {
    const body = c.req.valid("json");
    const view = await forkInstance(ctx, c.req.valid("param").id, {
      name: body.name,
      fromRunning: body.from_running,
      targetState: body.target_state,
    });
    return c.json(instanceToWire(view), 201);
  });
}
