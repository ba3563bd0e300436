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
