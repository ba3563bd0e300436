// Dry-run of retention: what the current schedule, or a candidate one, would keep and remove right now, and why.
// Nothing is deleted; the decisions are the same ones the runner acts on.
import type { CoreContext } from "../service/context.ts";
import { resolveInstance } from "../instances/view.ts";
import type { SnapshotView } from "../snapshots/view.ts";
import type { RetentionDecision } from "./retention-policy.ts";
import { retentionDecisions } from "./retention.ts";
import { getSchedule, validateSchedule, type Schedule, type SetScheduleInput } from "./schedules.ts";

export interface RetentionPreview {
  instanceId: string;
  decisions: RetentionDecision<SnapshotView>[];
}

export function previewRetention(ctx: CoreContext, ref: string, candidate?: SetScheduleInput): RetentionPreview {
  const { id } = resolveInstance(ctx, ref);
  if (candidate) validateSchedule(candidate);
  const policy = candidate ? { ...candidate, timezone: candidate.timezone ?? null } : getSchedule(ctx, id);
  return { instanceId: id, decisions: retentionDecisions(ctx, id, policy, ctx.clock()) };
}

/** How many of the schedule's snapshots retention keeps and would remove now. */
export function retentionCounts(ctx: CoreContext, schedule: Schedule): { keep: number; remove: number } {
  const decisions = retentionDecisions(ctx, schedule.instanceId, schedule, ctx.clock());
  const keep = decisions.filter((d) => d.keep).length;
  return { keep, remove: decisions.length - keep };
}
