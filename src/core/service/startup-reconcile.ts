// Start-up reconciliation (product.md §2): after a crash the index and the payload files must not disagree in a
// way a user can see. In order: restores that swapped their guest dir finish; staging leftovers go; half-deleted
// rows finish deleting; rows without payload become `error`; payload dirs without a row are indexed again from
// their records, or quarantined (payload-reindex.ts); every VMM of the data dir is adopted or ended, and no
// instance is left in a transitional state (vmm-adoption.ts).
import { existsSync } from "node:fs";
import { removeTree } from "../../fs/atomic.ts";
import type { CoreContext } from "./context.ts";
import { finishInterruptedRestores } from "../snapshots/restore.ts";
import { reindexPayloads } from "./payload-reindex.ts";
import { adoptOrEndVmms } from "./vmm-adoption.ts";

export async function reconcileAtStartup(ctx: CoreContext): Promise<void> {
  await finishInterruptedRestores(ctx);
  await removeTree(ctx.paths.tmpDir);
  const instanceIds = new Set<string>();
  for (const row of ctx.instances.all()) {
    const dir = ctx.paths.guest(row.id);
    if (row.rowState === "deleting") {
      await removeTree(dir);
      ctx.instances.remove(row.id);
      continue;
    }
    instanceIds.add(row.id);
    if (!existsSync(dir)) ctx.instances.update(row.id, { rowState: "error", stateError: `guest dir ${dir} is missing`, pid: null });
  }
  const snapshotIds = new Set<string>();
  for (const row of ctx.snapshots.all()) {
    const dir = ctx.paths.snapshot(row.id);
    if (row.rowState === "deleting") {
      await removeTree(dir);
      ctx.snapshots.remove(row.id);
      continue;
    }
    snapshotIds.add(row.id);
    if (row.rowState === "ready" && !existsSync(ctx.paths.snapshotGuest(row.id))) {
      ctx.snapshots.update(row.id, { rowState: "error" });
    }
    // A crash between committing a `compressing` record and queueing its job: nothing will ever finish it.
    if (row.compressionState === "compressing" && !ctx.compression.queued({ kind: "snapshot", id: row.id })) {
      ctx.snapshots.update(row.id, { compressionState: "none", compression: null });
    }
  }
  await reindexPayloads(ctx, instanceIds, snapshotIds);
  await adoptOrEndVmms(ctx);
}
