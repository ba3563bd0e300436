// Retention of scheduled snapshots (reference §5.4 steps 5–6): only that schedule's own snapshots, newest first;
// beyond max_count or older than max_age they go, except snapshots that forks still reference.
import type { CoreContext } from "../service/context.ts";
import { DomainError } from "../errors.ts";
import { SCHEDULE_INSTANCE_TAG, SCHEDULED_TAG, type Schedule } from "./schedules.ts";
import { deleteSnapshot } from "../snapshots/delete.ts";
import { listSnapshots } from "../snapshots/view.ts";

export function scheduledSnapshots(ctx: CoreContext, instanceId: string) {
  return listSnapshots(ctx, {
    sourceInstanceId: instanceId,
    tags: { [SCHEDULED_TAG]: "true", [SCHEDULE_INSTANCE_TAG]: instanceId },
  }).items.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
}

/** Deletes what the policy no longer keeps; returns the errors of deletions that failed (not-found is fine). */
export async function applyRetention(ctx: CoreContext, schedule: Schedule, now: Date): Promise<string[]> {
  const errors: string[] = [];
  const cutoff = schedule.maxAgeMs > 0 ? now.getTime() - schedule.maxAgeMs : undefined;
  const candidates = scheduledSnapshots(ctx, schedule.instanceId);
  for (const [i, snap] of candidates.entries()) {
    const overCount = schedule.maxCount > 0 && i >= schedule.maxCount;
    const tooOld = cutoff !== undefined && snap.createdAt.getTime() < cutoff;
    if (!(overCount || tooOld) || snap.refCount > 0) continue;
    try {
      await deleteSnapshot(ctx, snap.id);
    } catch (err) {
      if (err instanceof DomainError && err.kind === "not_found") continue;
      errors.push(`delete snapshot ${snap.id}: ${err instanceof Error ? err.message : err}`);
    }
  }
  return errors;
}
