// Object-storage remotes and the push/pull jobs that move snapshots to and from them.
import { z } from "@hono/zod-openapi";
import { TRANSFER_KINDS, TRANSFER_STATES } from "../../store/schema.ts";

export const RemoteSchema = z
  .object({
    name: z.string(),
    endpoint: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    region: z.string(),
  })
  .openapi("Remote", { description: "A configured remote; its credentials are never shown." });

export const TransferSchema = z
  .object({
    id: z.string(),
    kind: z.enum(TRANSFER_KINDS),
    snapshot_id: z.string(),
    remote: z.string(),
    state: z.enum(TRANSFER_STATES),
    bytes_done: z.number().int().openapi({ description: "Payload bytes pushed or pulled so far, chunks the other side held included" }),
    bytes_total: z.number().int(),
    chunks_done: z.number().int(),
    chunks_total: z.number().int(),
    bytes_transferred: z.number().int().openapi({ description: "Bytes that crossed the network: uploaded (push) or downloaded (pull)" }),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Transfer");

export const PushQuerySchema = z.object({ remote: z.string().min(1, "remote is required").openapi({ example: "r2" }) });

export const PullSnapshotSchema = z
  .object({
    remote: z.string().min(1, "remote is required"),
    snapshot_id: z.string().min(1, "snapshot_id is required"),
  })
  .strict()
  .openapi("PullSnapshot");

export const TransferParamSchema = z.object({ transferId: z.string().openapi({ param: { name: "transferId", in: "path" } }) });

/** `limit` + `cursor` paging of remote listings and transfers: a page is at most 1000, 100 unless asked. */
const BoundedPageQuery = z.object({
  limit: z.coerce.number().int().min(1, "limit must be 1-1000").max(1000, "limit must be 1-1000").default(100),
  cursor: z.string().max(2048).optional().openapi({ description: "x-next-cursor header value of the previous page" }),
});

export const RemoteParamSchema = z.object({ remote: z.string().openapi({ param: { name: "remote", in: "path" }, example: "r2" }) });
export const RemoteSnapshotParamSchema = RemoteParamSchema.extend({
  snapshotId: z.string().openapi({ param: { name: "snapshotId", in: "path" } }),
});
export const RemoteSnapshotsQuerySchema = BoundedPageQuery;

export const RemoteSnapshotSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.string().nullable(),
    hypervisor: z.string().nullable(),
    memory_bytes: z.number().int().nullable(),
    created_at: z.string().nullable(),
    total_bytes: z.number().int().nullable().openapi({ description: "Payload bytes a pull writes" }),
    problem: z.string().nullable().openapi({ description: "Why this server cannot read the manifest (a newer format, damaged); null when it can" }),
  })
  .openapi("RemoteSnapshot", { description: "A snapshot on a remote, as its manifest describes it." });

export const RemoteDeleteSchema = z
  .object({
    chunks_deleted: z.number().int(),
    bytes_deleted: z.number().int(),
    chunks_in_use: z.number().int().openapi({ description: "Chunks past the grace period that another manifest or a push under way names" }),
    chunks_within_grace: z.number().int().openapi({ description: "Chunks younger than the remote's gcGraceSeconds: kept, named or not" }),
    skipped: z.string().nullable().openapi({ description: "Why the sweep deleted nothing (a manifest whose chunks this server cannot read); null when it ran" }),
  })
  .openapi("RemoteDelete", { description: "The manifest is gone; what garbage collection then deleted." });

export const TransfersQuerySchema = BoundedPageQuery.extend({
  state: z.enum(TRANSFER_STATES, { error: `state must be one of ${TRANSFER_STATES.join(", ")}` }).optional(),
});
