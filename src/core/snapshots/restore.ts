// POST /instances/{id}/snapshots/{sid}/restore (reference §4.5): the source instance goes back to the snapshot.
// Everything is validated before anything changes; the new guest dir is built in staging and swapped in
// atomically, so a failed copy leaves the instance as it was. A crash after the swap but before the row is
// updated is finished at the next start from the intent record left in staging (finishInterruptedRestores).
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { commitDir, exchangeDirs, removeTree, stageDir, writeFileAtomic } from "../../fs/atomic.ts";
import { GUEST_FILES, standbyPath } from "../../store/payload/layout.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest, invalidState } from "../errors.ts";
import { copyGuestDir } from "../instances/guest-copy.ts";
import { getImage } from "../images/images.ts";
import { bootInstance } from "../instances/start.ts";
import { readVmConfig, writeInstanceFiles } from "../instances/vm-config.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, type InstanceView } from "../instances/view.ts";
import { resumeFromStandby } from "../instances/restore.ts";
import { ensureMemoryAvailable } from "../service/host-memory.ts";
import { ensureFreeSpace } from "../service/disk-space.ts";
import { decompressBytes, guestCopyBytes } from "../instances/copy-cost.ts";
import type { StoredMetadata } from "../../store/schema.ts";
import { snapshotRow } from "./view.ts";
import { assertSnapshotCompatible } from "./compatibility.ts";
import { isLive } from "../instances/state-machine.ts";
import { resolveTargetHypervisor, resolveTargetState } from "../instances/target-state.ts";

export interface RestoreSnapshotInput {
  targetState?: string;
  targetHypervisor?: string;
}

export async function restoreSnapshot(ctx: CoreContext, ref: string, snapshotId: string, input: RestoreSnapshotInput): Promise<InstanceView> {
  // 1. Validation, before any mutation.
  const snapshot = snapshotRow(ctx, snapshotId);
  const { id } = resolveInstance(ctx, ref);
  if (snapshot.sourceInstanceId !== id) throw invalidRequest(`snapshot ${snapshot.id} belongs to instance ${snapshot.sourceInstanceId}`);
  const target = resolveTargetState(snapshot.kind, input.targetState);
  const hv = resolveTargetHypervisor(ctx, snapshot, input.targetHypervisor);
  const stored = snapshot.storedMetadata;
  if (target === "Running") {
    getImage(ctx, stored.image);
    ensureMemoryAvailable(ctx, stored.memoryBytes, `restoring snapshot ${snapshot.id}`);
    await assertSnapshotCompatible(ctx, snapshot.id, `restore of snapshot ${snapshot.id}`);
  }
  // The copy of the snapshot's guest dir, and the raw memory a compressed Standby payload is decompressed to.
  const payload = ctx.paths.snapshotGuest(snapshotId);
  const memory = target === "Running" ? decompressBytes(hv, standbyPath(payload), stored.memoryBytes) : 0;
  await ensureFreeSpace(ctx, (await guestCopyBytes(payload)) + memory, `restore of snapshot ${snapshot.id}`);

  return ctx.locks.run(id, () =>
    ctx.locks.run(`snapshot:${snapshotId}`, async () => {
      const view = await loadInstance(ctx, id);
      if (isLive(view.state)) throw invalidState(`cannot restore snapshot while source is ${view.state}`);
      // 2. Nothing may write into either dir while it is replaced.
      await ctx.compression.cancel({ kind: "snapshot", id: snapshotId }, "restore_snapshot");
      await ctx.compression.cancel({ kind: "instance", id }, "restore_snapshot");
      await ctx.vms.release(id)?.kill(); // a Paused/Created/Shutdown VMM of the old state

      // 3. Build the new guest dir in its target state, then swap it in and revert the metadata.
      const staging = await stageDir(ctx.paths.tmpDir);
      try {
        const fresh = join(staging, "guest");
        await copyGuestDir(hv, ctx.paths.snapshotGuest(snapshotId), fresh, "restore");
        if (target === "Stopped") await removeTree(join(fresh, GUEST_FILES.standbyDir));
        // The copy's record is the instance at capture time: identity stays, the hypervisor may change, and a
        // restored instance is no longer a fork (applyRestore below says the same to the index).
        await writeInstanceFiles(fresh, await readVmConfig(fresh), { ...ctx.instances.get(id)!, ...stored, hypervisor: hv.type }, null);
        const intent: RestoreIntent = { instanceId: id, snapshotId, hypervisor: hv.type, guestInode: (await stat(fresh)).ino };
        await writeFileAtomic(join(staging, RESTORE_INTENT), JSON.stringify(intent));
        // An instance that lost its guest dir (state error) gets one back.
        await (existsSync(guestDir(ctx, id)) ? exchangeDirs : commitDir)(fresh, guestDir(ctx, id));
        applyRestore(ctx, intent, stored);
      } finally {
        await removeTree(staging); // after a swap, with the old guest dir
      }

      // 4. Reach the target state.
      if (target === "Running") {
        return snapshot.kind === "Standby" ? resumeFromStandby(ctx, id, "restore_snapshot") : bootInstance(ctx, id);
      }
      return describeInstance(ctx, ctx.instances.get(id)!);
    }),
  );
}

/** In a restore's staging dir from just before the swap until the row is updated. */
const RESTORE_INTENT = "restore-intent.json";
const RestoreIntent = z.object({
  instanceId: z.string(),
  snapshotId: z.string(),
  hypervisor: z.string(),
  /** The new guest dir's inode: the live guest dir has it once the swap happened. */
  guestInode: z.number(),
});
type RestoreIntent = z.infer<typeof RestoreIntent>;

/** Metadata reverts to capture time; identity (id, name) stays. Idempotent, so a crash can redo it. */
function applyRestore(ctx: CoreContext, intent: RestoreIntent, stored: StoredMetadata): void {
  ctx.instances.update(intent.instanceId, {
    ...stored,
    hypervisor: intent.hypervisor,
    hypervisorVersion: intent.hypervisor === stored.hypervisor ? stored.hypervisorVersion : null,
    pid: null,
    startedAt: null,
    stoppedAt: null,
    rowState: "ready",
    stateError: null,
  });
  ctx.snapshots.unlinkFork(intent.instanceId);
}

/**
 * At start-up, before staging is cleared: a restore whose swap happened gets its row updated; one that did not
 * get that far changed nothing (its staging copy is discarded with the rest).
 */
export async function finishInterruptedRestores(ctx: CoreContext): Promise<void> {
  for (const name of await readdir(ctx.paths.tmpDir).catch(() => [] as string[])) {
    const path = join(ctx.paths.tmpDir, name, RESTORE_INTENT);
    if (!existsSync(path)) continue;
    const parsed = RestoreIntent.safeParse(await Bun.file(path).json().catch(() => undefined));
    if (!parsed.success) {
      ctx.logger.warn("ignoring an unreadable restore intent", { path });
      continue;
    }
    const intent = parsed.data;
    const live = await stat(guestDir(ctx, intent.instanceId)).catch(() => undefined);
    if (live?.ino !== intent.guestInode || !ctx.instances.get(intent.instanceId)) continue;
    // The snapshot cannot have gone: deleting it waits for the restore's lock, and the crash ended neither.
    applyRestore(ctx, intent, ctx.snapshots.get(intent.snapshotId)!.storedMetadata);
    ctx.logger.warn("finished a snapshot restore interrupted by a crash", { instance: intent.instanceId, snapshot: intent.snapshotId });
  }
}
