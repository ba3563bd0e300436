// Start-up reconciliation (product.md §2): after a crash the index and the payload files must not disagree in a
// way a user can see. In order: restores that swapped their guest dir finish; staging leftovers go (a pull's
// only while its job will run again); half-deleted
// rows finish deleting; rows without payload become `error`, host-local records that disagree with their row are
// rewritten; payload dirs without a row are indexed again from their records, or quarantined (payload-reindex.ts);
// every VMM of the data dir is adopted or ended, and no instance is left in a transitional state (vmm-adoption.ts).
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { removeTree } from "../../fs/atomic.ts";
import { readLocalState, writeLocalState } from "../../store/payload/local-state.ts";
import type { SnapshotRow } from "../../store/schema.ts";
import type { CoreContext } from "./context.ts";
import { finishInterruptedRestores } from "../snapshots/restore.ts";
import { reindexPayloads } from "./payload-reindex.ts";
import { adoptOrEndVmms } from "./vmm-adoption.ts";

export async function reconcileAtStartup(ctx: CoreContext): Promise<void> {
  await finishInterruptedRestores(ctx);
  await removeTree(ctx.paths.tmpDir);
  await sweepPullStaging(ctx);
  const instances = await finishDeletes(ctx.instances.all(), (id) => ctx.paths.guest(id), (id) => ctx.instances.remove(id));
  for (const row of instances) {
    const dir = ctx.paths.guest(row.id);
    if (!existsSync(dir)) ctx.instances.update(row.id, { rowState: "error", stateError: `guest dir ${dir} is missing`, pid: null });
  }
  const snapshots = await finishDeletes(ctx.snapshots.all(), (id) => ctx.paths.snapshot(id), (id) => ctx.snapshots.remove(id));
  for (const row of snapshots) {
    if (row.rowState === "ready" && !existsSync(ctx.paths.snapshotGuest(row.id))) {
      ctx.snapshots.update(row.id, { rowState: "error" });
    } else if (row.rowState === "ready") {
      await matchLocalState(ctx, row);
    }
    // A crash between committing a `compressing` record and queueing its job: nothing will ever finish it.
    if (row.compressionState === "compressing" && !ctx.compression.queued({ kind: "snapshot", id: row.id })) {
      ctx.snapshots.update(row.id, { compressionState: "none", compression: null });
    }
  }
  await reindexPayloads(ctx, new Set(instances.map((r) => r.id)), new Set(snapshots.map((r) => r.id)));
  await adoptOrEndVmms(ctx);
}

/** A pull's staging dir is kept for its job's rerun (it reuses the chunks there); without an unfinished job it is garbage. */
async function sweepPullStaging(ctx: CoreContext): Promise<void> {
  const rerun = new Set(ctx.transfers.unfinishedIds());
  for (const name of await readdir(ctx.paths.pullsDir).catch(() => [] as string[])) {
    if (!rerun.has(name)) await removeTree(join(ctx.paths.pullsDir, name));
  }
}

/** Rows marked `deleting` lose their payload dir, then their row; the rows that stay are returned. */
async function finishDeletes<R extends { id: string; rowState: string }>(
  rows: R[],
  dirOf: (id: string) => string,
  remove: (id: string) => void,
): Promise<R[]> {
  const kept: R[] = [];
  for (const row of rows) {
    if (row.rowState !== "deleting") {
      kept.push(row);
      continue;
    }
    await removeTree(dirOf(row.id));
    remove(row.id);
  }
  return kept;
}

/**
 * Rewrites a snapshot's host-local record (pin, origin) where it disagrees with the row: a row from before such
 * records, or a crash between a PATCH's record and its row. The row is what clients saw; a rebuilt index reads
 * the record.
 */
async function matchLocalState(ctx: CoreContext, row: SnapshotRow): Promise<void> {
  const dir = ctx.paths.snapshot(row.id);
  const stored = await readLocalState(dir).catch(() => undefined);
  if (stored?.pinned === row.pinned && stored.origin === row.origin && stored.scheduleId === row.scheduleId) return;
  await writeLocalState(dir, row).catch((err: unknown) =>
    ctx.logger.warn("could not rewrite a snapshot's local state", { id: row.id, error: err instanceof Error ? err.message : String(err) }),
  );
}
