// What the API asks of transfers: start a push or a pull after checking what can be checked at once (the
// snapshot, the remote's name, the manifest on the remote), and read or list jobs.
import type { TransferJobRow } from "../../store/schema.ts";
import type { Page } from "../instances/list.ts";
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

/** Jobs oldest first, optionally in one state, a page of `limit` at a time. */
export function listTransfers(ctx: CoreContext, state: TransferJobRow["state"] | undefined, page: { limit: number; after?: { createdAt: Date; id: string } }): Page<TransferJobRow> {
  const rows = ctx.transfers.list(state, page);
  const last = rows.at(-1);
  return { items: rows, ...(rows.length === page.limit && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}) };
}
