// Lineage endpoints: GET /instances/{id}/lineage and GET /snapshots/{snapshotId}/lineage.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { instanceLineage, snapshotLineage, type Lineage, type LineageNode } from "../../core/snapshots/lineage.ts";
import { NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import { memoryToWire } from "../wire/to-wire.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { LineageQuerySchema, LineageSchema } from "../schemas/lineage.ts";
import { SnapshotParamSchema } from "../schemas/snapshot.ts";
import { lineageExample } from "./examples.ts";
import { errors, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["lineage"];
const description =
  "The tree instance → snapshots → instances forked from them → their snapshots…, as nodes in pre-order with their parent and depth, " +
  "each with its state, ref_count, how its memory is held (hard links shared with other payloads) and its disk bytes; `ancestors` " +
  "lists where the root came from. A source that no longer exists is a `Deleted` node (its descendants keep their data). " +
  `Bounded by \`max_depth\`; paged by \`limit\` with the \`${NEXT_CURSOR_HEADER}\` header.`;

const responses = { 200: jsonResponse(LineageSchema, "The lineage", lineageExample), ...errors(400, 404) };
const ofInstance = createRoute({
  method: "get",
  path: "/instances/{id}/lineage",
  tags,
  summary: "Lineage of an instance",
  description,
  request: { params: IdParamSchema, query: LineageQuerySchema },
  responses,
});
const ofSnapshot = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}/lineage",
  tags,
  summary: "Lineage of a snapshot",
  description,
  request: { params: SnapshotParamSchema, query: LineageQuerySchema },
  responses,
});

function nodeToWire(n: LineageNode): z.infer<typeof LineageSchema>["nodes"][number] {
  return {
    kind: n.kind,
    id: n.id,
    name: n.name,
    state: n.state,
    created_at: n.createdAt?.toISOString() ?? null,
    ref_count: n.refCount,
    memory: n.memory && { links: n.memory.links, shared_with: n.memory.links - 1, allocated_bytes: n.memory.allocatedBytes },
    vmm_memory: n.vmmMemory && memoryToWire(n.vmmMemory),
    disk_bytes: n.diskBytes,
    source_deleted: n.sourceDeleted,
    parent_id: n.parentId,
    depth: n.depth,
    children_cut: n.childrenCut,
  };
}

/** The wire body; the cursor of the next page, if any, goes in its header. */
function toWire(c: { header(name: string, value: string): void }, l: Lineage): z.infer<typeof LineageSchema> {
  if (l.next) c.header(NEXT_CURSOR_HEADER, l.next);
  return { ancestors: l.ancestors.map(nodeToWire), nodes: l.nodes.map(nodeToWire) };
}

/** The cursor is the id of the last node of the previous page (ids are opaque already). */
function query(q: z.infer<typeof LineageQuerySchema>) {
  return { maxDepth: q.max_depth, limit: q.limit, after: q.cursor };
}

export function lineageRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(ofInstance, async (c) => c.json(toWire(c, await instanceLineage(ctx, c.req.valid("param").id, query(c.req.valid("query")))), 200))
    .openapi(ofSnapshot, async (c) =>
      c.json(toWire(c, await snapshotLineage(ctx, c.req.valid("param").snapshotId, query(c.req.valid("query")))), 200),
    );
}
