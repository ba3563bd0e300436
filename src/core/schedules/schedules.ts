// Snapshot schedules (reference §3.7, §5.1–5.2): one per instance, an interval (validated like the reference) or
// a cron expression, with retention rules.
import { NAME_PATTERN } from "../../store/paths.ts";
import type { KeepRules, ScheduleRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest, notFound } from "../errors.ts";
import { resolveInstance } from "../instances/view.ts";
import { firstRunAt, sameCadence, validateCron, validateTimezone } from "./cadence.ts";
import { hasRetentionRule } from "./retention-policy.ts";

export type Schedule = ScheduleRow;

export const MIN_SCHEDULE_INTERVAL_MS = 60_000;
/** Scheduled names are `<prefix>-YYYYMMDD-HHMMSS` and names are at most 63 chars: 63 − 15 − 1. */
export const MAX_NAME_PREFIX = 47;
export const DEFAULT_NAME_PREFIX = "scheduled";
export const SCHEDULED_TAG = "hypeman.scheduled";
export const SCHEDULE_INSTANCE_TAG = "hypeman.schedule_instance_id";

export interface SetScheduleInput {
  /** Exactly one of intervalMs and cron. */
  intervalMs?: number;
  cron?: string;
  timezone?: string;
  maxCount: number;
  maxAgeMs: number;
  keep: KeepRules | null;
  namePrefix?: string;
  metadata: Record<string, string>;
}

export function validateSchedule(input: SetScheduleInput): void {
  if ((input.intervalMs === undefined) === (input.cron === undefined)) throw invalidRequest("exactly one of interval or cron must be set");
  if (input.timezone !== undefined) validateTimezone(input.timezone);
  if (input.cron !== undefined) validateCron(input.cron, input.timezone ?? null);
  if (input.intervalMs !== undefined && input.intervalMs < MIN_SCHEDULE_INTERVAL_MS) throw invalidRequest("interval must be at least 1m0s");
  if (!Number.isInteger(input.maxCount) || input.maxCount < 0) throw invalidRequest("retention.max_count must be >= 0");
  if (input.maxAgeMs < 0) throw invalidRequest("retention.max_age must be >= 0");
  if (!hasRetentionRule(input)) throw invalidRequest("retention.max_count or retention.max_age must be set, or a keep_* rule above 0");
  if (input.namePrefix !== undefined && input.namePrefix !== "") {
    if (input.namePrefix.length > MAX_NAME_PREFIX) throw invalidRequest(`name_prefix must be at most ${MAX_NAME_PREFIX} characters`);
    if (!NAME_PATTERN.test(input.namePrefix)) {
      throw invalidRequest("name_prefix must be lowercase letters, digits and dashes, starting and ending with a letter or digit");
    }
  }
}

export function getSchedule(ctx: CoreContext, ref: string): Schedule {
  const { id } = resolveInstance(ctx, ref);
  const row = ctx.schedules.get(id);
  if (!row) throw notFound("snapshot schedule not found");
  return row;
}

/** Create or update. Same cadence keeps the next run; history (runs, errors, created_at) always survives. */
export function setSchedule(ctx: CoreContext, ref: string, input: SetScheduleInput): Schedule {
  validateSchedule(input);
  const { id } = resolveInstance(ctx, ref);
  const now = ctx.clock();
  const existing = ctx.schedules.get(id);
  const cadence = { instanceId: id, intervalMs: input.intervalMs ?? 0, cron: input.cron ?? null, timezone: input.timezone ?? null };
  const row: Schedule = {
    ...cadence,
    keep: input.keep,
    namePrefix: input.namePrefix || null,
    metadata: input.metadata,
    maxCount: input.maxCount,
    maxAgeMs: input.maxAgeMs,
    nextRunAt: existing && sameCadence(existing, cadence) ? existing.nextRunAt : firstRunAt(cadence, now),
    lastRunAt: existing?.lastRunAt ?? null,
    lastSnapshotId: existing?.lastSnapshotId ?? null,
    lastError: existing?.lastError ?? null,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  ctx.schedules.put(row);
  return row;
}

export function deleteSchedule(ctx: CoreContext, ref: string): void {
  const { id } = resolveInstance(ctx, ref);
  if (!ctx.schedules.remove(id)) throw notFound("snapshot schedule not found");
}
