// PATCH /snapshots/{id} {pinned}: a pinned snapshot is never deleted (by retention or by hand) until unpinned.
// Under the snapshot's lock, so a delete in flight either sees the pin or finishes first. The payload's host-local
// record is written before the row: a pin the row ever showed is on disk, so a rebuilt index keeps it.
import { writeLocalState } from "../../store/payload/local-state.ts";
import type { CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import { getSnapshot, snapshotRow, type SnapshotView } from "./view.ts";

export async function setPinned(ctx: CoreContext, id: string, pinned: boolean): Promise<SnapshotView> {
  snapshotRow(ctx, id);
  return ctx.locks.run(`snapshot:${id}`, async () => {
    const { origin, scheduleId } = snapshotRow(ctx, id);
    await writeLocalState(ctx.paths.snapshot(id), { pinned, origin, scheduleId }).catch((err: unknown) => {
      throw inStep("record the pin", err);
    });
    ctx.snapshots.update(id, { pinned });
    return getSnapshot(ctx, id);
  });
}
