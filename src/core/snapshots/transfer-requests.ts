// What the API asks of transfers: start a push or a pull after checking what can be checked at once (the
// snapshot, the remote's name, the manifest on the remote), and read a job.
import type { TransferJobRow } from "../../store/schema.ts";
import { isSafeId } from "../../store/paths.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest, notFound } from "../errors.ts";
import { assertSnapshotAbsent, remoteManifest } from "./pull.ts";
import { remoteStore } from "./remotes.ts";
import { snapshotRow } from "./view.ts";

export function startPush(ctx: CoreContext, snapshotId: string, remote: string): TransferJobRow {
  const row = snapshotRow(ctx, snapshotId);
  remoteStore(ctx, remote);
  return ctx.transfers.start("push", row.id, remote);
}

export async function startPull(ctx: CoreContext, remote: string, snapshotId: string): Promise<TransferJobRow> {
  if (!isSafeId(snapshotId)) throw invalidRequest(`snapshot_id: ${JSON.stringify(snapshotId)} is not a snapshot id`);
  assertSnapshotAbsent(ctx, snapshotId);
  await remoteManifest(ctx, remoteStore(ctx, remote), snapshotId);
  return ctx.transfers.start("pull", snapshotId, remote);
}

export function getTransfer(ctx: CoreContext, id: string): TransferJobRow {
  const job = isSafeId(id) ? ctx.transfers.get(id) : undefined;
  if (!job) throw notFound("transfer not found");
  return job;
}
