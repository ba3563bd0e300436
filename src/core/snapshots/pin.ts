// PATCH /snapshots/{id} {pinned}: a pinned snapshot is never deleted (by retention or by hand) until unpinned.
// Under the snapshot's lock, so a delete in flight either sees the pin or finishes first.
import type { CoreContext } from "../service/context.ts";
import { getSnapshot, snapshotRow, type SnapshotView } from "./view.ts";

export async function setPinned(ctx: CoreContext, id: string, pinned: boolean): Promise<SnapshotView> {
  snapshotRow(ctx, id);
  return ctx.locks.run(`snapshot:${id}`, async () => {
    snapshotRow(ctx, id);
    ctx.snapshots.update(id, { pinned });
    return getSnapshot(ctx, id);
  });
}
