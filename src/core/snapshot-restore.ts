// POST /instances/{id}/snapshots/{sid}/restore (reference §4.5): the source instance goes back to the snapshot.
// Everything is validated before anything changes; the new guest dir is built beside the old one and swapped in,
// so a failed copy leaves the instance as it was.
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { removeTree, stageDir } from "../store/atomic.ts";
import type { CoreContext } from "./context.ts";
import { invalidRequest, invalidState } from "./errors.ts";
import { copyGuestDir } from "./guest-copy.ts";
import { getImage } from "./images.ts";
import { bootInstance } from "./instance-start.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./instance-view.ts";
import { resumeFromStandby } from "./restore.ts";
import type { StoredMetadata } from "./snapshot-create.ts";
import { snapshotRow } from "./snapshot-view.ts";
import { isLive } from "./state-machine.ts";
import { resolveTargetHypervisor, resolveTargetState } from "./target-state.ts";

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
  const stored = snapshot.storedMetadata as StoredMetadata;
  if (target === "Running") getImage(ctx, stored.image);

  return ctx.locks.run(id, () =>
    ctx.locks.run(`snapshot:${snapshotId}`, async () => {
      const view = await loadInstance(ctx, id);
      if (isLive(view.state)) throw invalidState(`cannot restore snapshot while source is ${view.state}`);
      // 2. Nothing may write into either dir while it is replaced.
      await ctx.compression.cancel(`snapshot:${snapshotId}`, "restore_snapshot");
      await ctx.compression.cancel(`instance:${id}`, "restore_snapshot");
      await ctx.vms.release(id)?.kill(); // a Paused/Created/Shutdown VMM of the old state

      // 3. Build the new guest dir, then swap it in.
      const staging = await stageDir(ctx.paths.tmpDir);
      const fresh = join(staging, "guest");
      const old = join(staging, "old");
      try {
        await copyGuestDir(hv, ctx.paths.snapshotGuest(snapshotId), fresh, "restore");
        await rename(guestDir(ctx, id), old);
        await rename(fresh, guestDir(ctx, id)).catch(async (err) => {
          await rename(old, guestDir(ctx, id));
          throw err;
        });
      } finally {
        await removeTree(staging);
      }

      // 4. Metadata reverts to capture time; identity (id, name) stays.
      ctx.instances.update(id, {
        ...stored,
        hypervisor: hv.type,
        hypervisorVersion: hv.type === stored.hypervisor ? stored.hypervisorVersion : null,
        pid: null,
        startedAt: null,
        stoppedAt: null,
        rowState: "ready",
        stateError: null,
      });
      ctx.snapshots.unlinkFork(id);

      // 5. Reach the target state.
      if (target === "Running") {
        return snapshot.kind === "Standby" ? resumeFromStandby(ctx, id, "restore_snapshot") : bootInstance(ctx, id);
      }
      if (target === "Stopped") await removeTree(standbyDir(ctx, id));
      return describeInstance(ctx, ctx.instances.get(id)!);
    }),
  );
}
