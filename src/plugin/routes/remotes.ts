// Object-storage remotes: list them and the snapshots on one, delete one there, push a snapshot to one, pull one
// from it, list and follow transfers.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { listRemotes } from "../../core/snapshots/remotes.ts";
import { listRemoteSnapshots } from "../../core/snapshots/remote-catalog.ts";
import { deleteRemoteSnapshot } from "../../core/snapshots/remote-gc.ts";
import { getTransfer, listTransfers, startPull, startPush } from "../../core/snapshots/transfer-requests.ts";
import { SnapshotParamSchema } from "../schemas/snapshot.ts";
import {
  PullSnapshotSchema,
  PushQuerySchema,
  RemoteDeleteSchema,
  RemoteParamSchema,
  RemoteSchema,
  RemoteSnapshotParamSchema,
  RemoteSnapshotSchema,
  RemoteSnapshotsQuerySchema,
  TransferParamSchema,
  TransferSchema,
  TransfersQuerySchema,
} from "../schemas/transfer.ts";
import { decodeCursor, encodeCursor, NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import { decodeKeyCursor, encodeKeyCursor, remoteDeleteToWire, remoteSnapshotToWire } from "../wire/remote-snapshot.ts";
import { transferToWire } from "../wire/transfer.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["remotes"];

const transferExample = {
  id: "t3k9x2m4n5p6q7r8s9t0u1v2",
  kind: "push" as const,
  snapshot_id: "s3k9x2m4n5p6q7r8s9t0u1v2",
  remote: "r2",
  state: "running" as const,
  bytes_done: 268435456,
  bytes_total: 1342177280,
  chunks_done: 64,
  chunks_total: 320,
  bytes_transferred: 12582912,
  error: null,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:05.000Z",
};

const list = createRoute({
  method: "get",
  path: "/remotes",
  tags,
  summary: "List remotes",
  description: "The object-storage remotes of the server's config, by name; credentials are never shown.",
  responses: {
    200: jsonResponse(z.array(RemoteSchema), "Remotes by name", [{ name: "r2", endpoint: "https://<account>.r2.cloudflarestorage.com", bucket: "snapshots", prefix: "edge", region: "auto" }]),
  },
});
const remoteSnapshots = createRoute({
  method: "get",
  path: "/remotes/{remote}/snapshots",
  tags,
  summary: "List the snapshots on a remote",
  description:
    "Each snapshot whose manifest is on the remote, in key order, described from its manifest (name from its snapshot record). " +
    `Paged: \`limit\` (1-1000, default 100) per page, the \`${NEXT_CURSOR_HEADER}\` response header carries the cursor of the next one. ` +
    "One listing request and at most `limit` bounded manifest reads per page, whatever the bucket holds; a manifest this server cannot read is listed with `problem`.",
  request: { params: RemoteParamSchema, query: RemoteSnapshotsQuerySchema },
  responses: {
    200: jsonResponse(z.array(RemoteSnapshotSchema), "Snapshots on the remote", [
      {
        id: "s3k9x2m4n5p6q7r8s9t0u1v2",
        name: "golden",
        kind: "Standby",
        hypervisor: "qemu",
        memory_bytes: 1073741824,
        created_at: "2026-01-01T00:00:00.000Z",
        total_bytes: 1342177280,
        problem: null,
      },
    ]),
    ...errors(400, 404, 502),
  },
});
const remoteDelete = createRoute({
  method: "delete",
  path: "/remotes/{remote}/snapshots/{snapshotId}",
  tags,
  summary: "Delete a snapshot from a remote",
  description:
    "Removes the snapshot's manifest, then garbage-collects: chunks no remaining manifest or push under way names, and older than the remote's " +
    "`gcGraceSeconds` (default 1 h, by S3 LastModified), are deleted. Safe against pushes from this or other hosts: a push records its intent " +
    "before it looks at which chunks exist, and young chunks are never deleted. Reports what was deleted.",
  request: { params: RemoteSnapshotParamSchema },
  responses: {
    200: jsonResponse(RemoteDeleteSchema, "What garbage collection deleted", { chunks_deleted: 12, bytes_deleted: 50331648, chunks_in_use: 300, chunks_within_grace: 0, skipped: null }),
    ...errors(404, 502),
  },
});
const transfers = createRoute({
  method: "get",
  path: "/transfers",
  tags,
  summary: "List transfers",
  description:
    `Push and pull jobs, oldest first, optionally in one \`state\`; \`limit\` (1-1000, default 100) per page, the \`${NEXT_CURSOR_HEADER}\` header carries the next page's cursor.`,
  request: { query: TransfersQuerySchema },
  responses: { 200: jsonResponse(z.array(TransferSchema), "Transfers, oldest first", [transferExample]), ...errors(400) },
});
const push = createRoute({
  method: "post",
  path: "/snapshots/{snapshotId}/push",
  tags,
  summary: "Push a snapshot to a remote",
  description:
    "Starts a job that uploads the snapshot's payload as content-addressed 4 MiB chunks (those the remote holds already are skipped) " +
    "and then its manifest, so the snapshot appears on the remote only whole. Asking again while one runs returns that job; " +
    "a job cut short by a restart runs again at start-up and sends only what is missing. Follow it with GET /transfers/{transferId}.",
  request: { params: SnapshotParamSchema, query: PushQuerySchema },
  responses: { 202: jsonResponse(TransferSchema, "The push job", transferExample), ...errors(400, 404) },
});
const pull = createRoute({
  method: "post",
  path: "/snapshots/pull",
  tags,
  summary: "Pull a snapshot from a remote",
  description:
    "Starts a job that rebuilds the snapshot (same id) from the remote's manifest and chunks, checking every chunk's SHA-256 before it is written, " +
    "in a staging dir that becomes the snapshot only when everything checked out. 404 when the remote has no such snapshot, 409 when it exists here.",
  request: { body: jsonBody(PullSnapshotSchema, { remote: "r2", snapshot_id: "s3k9x2m4n5p6q7r8s9t0u1v2" }) },
  responses: { 202: jsonResponse(TransferSchema, "The pull job", { ...transferExample, kind: "pull" }), ...errors(400, 404, 409) },
});
const get = createRoute({
  method: "get",
  path: "/transfers/{transferId}",
  tags,
  summary: "Get a transfer",
  description: "A push or pull job: its state, progress (bytes and chunks of the total, bytes that crossed the network) and error.",
  request: { params: TransferParamSchema },
  responses: { 200: jsonResponse(TransferSchema, "The transfer", transferExample), ...errors(404) },
});

export function remoteRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(list, (c) => c.json(listRemotes(ctx), 200))
    .openapi(remoteSnapshots, async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = await listRemoteSnapshots(ctx, c.req.valid("param").remote, limit, decodeKeyCursor(cursor));
      if (page.next) c.header(NEXT_CURSOR_HEADER, encodeKeyCursor(page.next));
      return c.json(page.items.map(remoteSnapshotToWire), 200);
    })
    .openapi(remoteDelete, async (c) => {
      const { remote, snapshotId } = c.req.valid("param");
      return c.json(remoteDeleteToWire(await deleteRemoteSnapshot(ctx, remote, snapshotId)), 200);
    })
    .openapi(transfers, (c) => {
      const { state, limit, cursor } = c.req.valid("query");
      const page = listTransfers(ctx, state, { limit, after: decodeCursor(cursor) });
      if (page.next) c.header(NEXT_CURSOR_HEADER, encodeCursor(page.next));
      return c.json(page.items.map(transferToWire), 200);
    })
    .openapi(push, (c) => c.json(transferToWire(startPush(ctx, c.req.valid("param").snapshotId, c.req.valid("query").remote)), 202))
    .openapi(pull, async (c) => {
      const { remote, snapshot_id } = c.req.valid("json");
      return c.json(transferToWire(await startPull(ctx, remote, snapshot_id)), 202);
    })
    .openapi(get, (c) => c.json(transferToWire(getTransfer(ctx, c.req.valid("param").transferId)), 200));
}
