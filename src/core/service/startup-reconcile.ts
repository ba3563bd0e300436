// Start-up reconciliation (product.md §2): after a crash the index and the payload files must not disagree in a
// way a user can see. Restores that swapped their guest dir finish, half-deleted rows finish deleting, rows without payload become `error`, payload without a
// row and staging leftovers are removed, and VMMs left running by the previous process are adopted again.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { removeTree } from "../../fs/atomic.ts";
import type { CoreContext } from "./context.ts";
import { hypervisorFor } from "./hypervisor-lookup.ts";
import { finishInterruptedRestores } from "../snapshots/restore.ts";

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
    if (!existsSync(dir)) {
      ctx.instances.update(row.id, { rowState: "error", stateError: `guest dir ${dir} is missing`, pid: null });
      continue;
    }
    if (row.pid !== null) await adopt(ctx, row.id, row.hypervisor, dir, row.pid);
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
  await removeOrphans(ctx.paths.guestsDir, instanceIds, ctx);
  await removeOrphans(ctx.paths.snapshotsDir, snapshotIds, ctx);
}

async function adopt(ctx: CoreContext, id: string, type: string, dir: string, pid: number): Promise<void> {
  try {
    const vm = await hypervisorFor(ctx, type).attach(dir, pid);
    if (vm) {
      ctx.vms.track(id, vm, true);
      ctx.logger.info("adopted running VMM", { instance: id, pid });
      return;
    }
  } catch (err) {
    ctx.logger.warn("could not adopt VMM", { instance: id, pid, error: String(err) });
  }
  ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
}

/** Payload dirs whose row never committed (a crash between rename and insert) or is gone. */
async function removeOrphans(root: string, known: Set<string>, ctx: CoreContext): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    if (known.has(name)) continue;
    ctx.logger.warn("removing payload without a row", { path: join(root, name) });
    await removeTree(join(root, name));
  }
}
