// A transfer job on the wire.
import type { z } from "@hono/zod-openapi";
import type { TransferJobRow } from "../../store/schema.ts";
import type { TransferSchema } from "../schemas/transfer.ts";

export function transferToWire(job: TransferJobRow): z.infer<typeof TransferSchema> {
  return {
    id: job.id,
    kind: job.kind,
    snapshot_id: job.snapshotId,
    remote: job.remote,
    state: job.state,
    bytes_done: job.bytesDone,
    bytes_total: job.bytesTotal,
    chunks_done: job.chunksDone,
    chunks_total: job.chunksTotal,
    bytes_transferred: job.bytesTransferred,
    error: job.error,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
  };
}
