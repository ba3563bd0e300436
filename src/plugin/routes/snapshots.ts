// Snapshot endpoints: list, read, delete, take, restore into the source, fork into a new instance.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { invalidRequest } from "../../core/errors.ts";
import { forkSnapshot } from "../../core/instances/fork.ts";
import { createSnapshot } from "../../core/snapshots/create.ts";
import { deleteSnapshot } from "../../core/snapshots/delete.ts";
import { setPinned } from "../../core/snapshots/pin.ts";
import { restoreSnapshot } from "../../core/snapshots/restore.ts";
import { SNAPSHOT_KINDS, getSnapshot, listSnapshots } from "../../core/snapshots/view.ts";
import { validateTags } from "../../core/tags.ts";
import { decodeCursor, encodeCursor, NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import { compression } from "../wire/request-values.ts";
import { IdParamSchema, PageQuerySchema } from "../schemas/common.ts";
import { InstanceSchema } from "../schemas/instance.ts";
import {
  CreateSnapshotSchema,
  ForkSnapshotSchema,
  PatchSnapshotSchema,
  RestoreSnapshotSchema,
  SnapshotParamSchema,
  SnapshotSchema,
} from "../schemas/snapshot.ts";
import { instanceToWire, snapshotToWire } from "../wire/to-wire.ts";
import { mailboxesFromWire } from "../wire/mailboxes.ts";
import { forkExample, instanceExample, requestExamples, snapshotExample } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

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
  summary: "List snapshots",
  description:
    "Every snapshot, oldest first, optionally filtered by source instance, kind, name and `tags[key]=value` pairs (all must match). " +
    `With \`limit\`, the \`${NEXT_CURSOR_HEADER}\` response header carries the cursor of the next page.`,
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(z.array(SnapshotSchema), "Snapshots, oldest first", [snapshotExample]), ...errors(400) },
});
const get = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}",
  tags,
  summary: "Get a snapshot",
  description: "The snapshot record: kind, sizes, compression state and how many instances were forked from it.",
  request: { params: SnapshotParamSchema },
  responses: { 200: jsonResponse(SnapshotSchema, "The snapshot", snapshotExample), ...errors(404) },
});
const remove = createRoute({
  method: "delete",
  path: "/snapshots/{snapshotId}",
  tags,
  summary: "Delete a snapshot",
  description: "Removes the record and its payload. Refused (409 `conflict`) while it is pinned or instances forked from it still exist.",
  request: { params: SnapshotParamSchema },
  responses: { 204: { description: "Deleted" }, ...errors(404, 409) },
});
const patch = createRoute({
  method: "patch",
  path: "/snapshots/{snapshotId}",
  tags,
  summary: "Pin or unpin a snapshot",
  description: "`{\"pinned\": true}` protects the snapshot: retention skips it and DELETE answers 409 `conflict` until it is unpinned.",
  request: { params: SnapshotParamSchema, body: jsonBody(PatchSnapshotSchema, requestExamples.setPin) },
  responses: { 200: jsonResponse(SnapshotSchema, "The snapshot", snapshotExample), ...errors(400, 404) },
});
const fork = createRoute({
  method: "post",
  path: "/snapshots/{snapshotId}/fork",
  tags,
  summary: "Fork a snapshot",
  description:
    "A new instance from a snapshot; its memory file is hard-linked, never copied, so many forks of one snapshot cost little disk. " +
    "A compressed snapshot is decompressed once, on its first fork.",
  request: { params: SnapshotParamSchema, body: jsonBody(ForkSnapshotSchema, requestExamples.forkSnapshot) },
  responses: { 201: jsonResponse(InstanceSchema, "The fork", forkExample), ...errors(400, 404, 409, 501, 507) },
});
const create = createRoute({
  method: "post",
  path: "/instances/{id}/snapshots",
  tags,
  summary: "Take a snapshot",
  description:
    "A `Standby` snapshot captures a running (or standby) instance's memory and disk: the VM is paused briefly and resumed. " +
    "A `Stopped` snapshot copies a stopped instance's disk. Compression, if asked for, runs in the background.",
  request: { params: IdParamSchema, body: jsonBody(CreateSnapshotSchema, requestExamples.createSnapshot) },
  responses: { 201: jsonResponse(SnapshotSchema, "The snapshot", snapshotExample), ...errors(400, 404, 409, 501, 507) },
});
const restore = createRoute({
  method: "post",
  path: "/instances/{id}/snapshots/{snapshotId}/restore",
  tags,
  summary: "Restore an instance to a snapshot",
  description: "Puts the snapshot's source instance back to the captured state. The source must not be running (409).",
  request: {
    params: IdParamSchema.extend(SnapshotParamSchema.shape),
    body: jsonBody(RestoreSnapshotSchema, requestExamples.restoreSnapshot),
  },
  responses: { 200: jsonResponse(InstanceSchema, "The instance afterwards", instanceExample), ...errors(400, 404, 409, 501) },
});

/** `tags[key]=value` query pairs (deepObject). */
export function tagFilter(query: Record<string, string>): Record<string, string> | undefined {
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

export function snapshotRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(list, (c) => {
      const q = c.req.valid("query");
      const page = listSnapshots(
        ctx,
        { sourceInstanceId: q.source_instance_id, kind: q.kind, name: q.name, tags: tagFilter(c.req.query()) },
        { limit: q.limit, after: decodeCursor(q.cursor) },
      );
      if (page.next) c.header(NEXT_CURSOR_HEADER, encodeCursor(page.next));
      return c.json(page.items.map(snapshotToWire), 200);
    })
    .openapi(get, (c) => c.json(snapshotToWire(getSnapshot(ctx, c.req.valid("param").snapshotId)), 200))
    .openapi(remove, async (c) => {
      await deleteSnapshot(ctx, c.req.valid("param").snapshotId);
      return c.body(null, 204);
    })
    .openapi(patch, async (c) => c.json(snapshotToWire(await setPinned(ctx, c.req.valid("param").snapshotId, c.req.valid("json").pinned)), 200))
    .openapi(fork, async (c) => {
      const { name, target_state, target_hypervisor, mailboxes } = c.req.valid("json");
      const input = { name, targetState: target_state, targetHypervisor: target_hypervisor, mailboxes: mailboxesFromWire(mailboxes) };
      const view = await forkSnapshot(ctx, c.req.valid("param").snapshotId, input);
      return c.json(instanceToWire(view), 201);
    })
    .openapi(create, async (c) => {
      const body = c.req.valid("json");
      const view = await createSnapshot(ctx, c.req.valid("param").id, {
        kind: body.kind,
        name: body.name,
        tags: body.tags,
        compression: compression(body.compression, "invalid_snapshot_compression"),
        pinned: body.pinned,
      });
      return c.json(snapshotToWire(view), 201);
    })
    .openapi(restore, async (c) => {
      const { id, snapshotId } = c.req.valid("param");
      const body = c.req.valid("json");
      const view = await restoreSnapshot(ctx, id, snapshotId, { targetState: body.target_state, targetHypervisor: body.target_hypervisor });
      return c.json(instanceToWire(view), 200);
    });
}
