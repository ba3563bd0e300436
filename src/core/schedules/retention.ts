// Retention of scheduled snapshots (reference §5.4 steps 5–6, with restic-style tiers): the policy module decides
// over the snapshots that schedule took (server-owned origin, never tags); this deletes what it removes.
import type { CoreContext } from "../service/context.ts";
import { DomainError } from "../errors.ts";
import type { Schedule } from "./schedules.ts";
import { deleteSnapshot } from "../snapshots/delete.ts";
import { listSnapshots, type SnapshotView } from "../snapshots/view.ts";
import { decideRetention, type RetentionDecision, type RetentionPolicy } from "./retention-policy.ts";

/** What the policy decides today for each snapshot the instance's schedule took, newest first. */
export function retentionDecisions(ctx: CoreContext, instanceId: string, policy: RetentionPolicy, now: Date): RetentionDecision<SnapshotView>[] {
  return decideRetention(policy, instanceId, listSnapshots(ctx, { sourceInstanceId: instanceId, origin: "schedule" }).items, now);
}

/** Deletes what the policy no longer keeps; returns the errors of deletions that failed (not-found is fine). */
export async function applyRetention(ctx: CoreContext, schedule: Schedule, now: Date): Promise<string[]> {
  const errors: string[] = [];
  for (const decision of retentionDecisions(ctx, schedule.instanceId, schedule, now)) {
    if (decision.keep) continue;
    try {
      await deleteSnapshot(ctx, decision.snapshot.id);
    } catch (err) {
      // Gone, or pinned or forked since the decision: nothing to delete.
      if (err instanceof DomainError && (err.kind === "not_found" || err.kind === "conflict")) continue;
      errors.push(`delete snapshot ${decision.snapshot.id}: ${err instanceof Error ? err.message : err}`);
    }
  }
  return errors;
}

/** True once retention can delete nothing more as time passes: every snapshot left is kept by a rule, not only
 * protected (a fork or pin may go away), and no rule depends on the clock (max_age). */
export function retentionConverged(ctx: CoreContext, schedule: Schedule, now: Date): boolean {
  const decisions = retentionDecisions(ctx, schedule.instanceId, schedule, now);
  if (decisions.length === 0) return true;
  return schedule.maxAgeMs === 0 && decisions.every((d) => d.reasons.some((r) => r !== "pinned" && r !== "forked"));
}
