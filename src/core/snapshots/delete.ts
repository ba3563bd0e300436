// DELETE /snapshots/{id}: refused while it is pinned or forks reference it (product.md §4.1); otherwise its
// compression job is cancelled, the row marked deleting, the payload removed, then the row.
import { removeTree } from "../../fs/atomic.ts";
import type { CoreContext } from "../service/context.ts";
import { conflict } from "../errors.ts";
import { snapshotRow } from "./view.ts";

export async function deleteSnapshot(ctx: CoreContext, id: string): Promise<void> {
  snapshotRow(ctx, id);
  await ctx.locks.run(`snapshot:${id}`, async () => {
    if (snapshotRow(ctx, id).pinned) throw conflict(`cannot delete snapshot ${id}: it is pinned (unpin it first: PATCH {"pinned": false})`);
    const forks = ctx.snapshots.refCounts([id]).get(id) ?? 0;
    if (forks > 0) throw conflict(`cannot delete snapshot ${id} with ${forks} fork(s)`);
    await ctx.compression.cancel({ kind: "snapshot", id }, "delete_snapshot");
    await ctx.manifests.cancel(id);
    ctx.snapshots.update(id, { rowState: "deleting" });
    await removeTree(ctx.paths.snapshot(id));
    ctx.snapshots.remove(id);
  });
}
