// Snapshot schedules (reference §3.7, §5.1–5.2): one per instance, validated exactly like the reference.
import { NAME_PATTERN } from "../../store/paths.ts";
import type { ScheduleRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest, notFound } from "../errors.ts";
import { resolveInstance } from "../instances/view.ts";

export type Schedule = ScheduleRow;

export const MIN_SCHEDULE_INTERVAL_MS = 60_000;
/** Scheduled names are `<prefix>-YYYYMMDD-HHMMSS` and names are at most 63 chars: 63 − 15 − 1. */
export const MAX_NAME_PREFIX = 47;
export const MAX_JITTER_MS = 5 * 60_000;
export const DEFAULT_NAME_PREFIX = "scheduled";
export const SCHEDULED_TAG = "hypeman.scheduled";
export const SCHEDULE_INSTANCE_TAG = "hypeman.schedule_instance_id";

export interface SetScheduleInput {
  intervalMs: number;
  maxCount: number;
  maxAgeMs: number;
  namePrefix?: string;
  metadata: Record<string, string>;
}

export function validateSchedule(input: SetScheduleInput): void {
  if (input.intervalMs < MIN_SCHEDULE_INTERVAL_MS) throw invalidRequest("interval must be at least 1m0s");
  if (!Number.isInteger(input.maxCount) || input.maxCount < 0) throw invalidRequest("retention.max_count must be >= 0");
  if (input.maxAgeMs < 0) throw invalidRequest("retention.max_age must be >= 0");
  if (input.maxCount === 0 && input.maxAgeMs === 0) throw invalidRequest("retention.max_count or retention.max_age must be set");
  if (input.namePrefix !== undefined && input.namePrefix !== "") {
    if (input.namePrefix.length > MAX_NAME_PREFIX) throw invalidRequest(`name_prefix must be at most ${MAX_NAME_PREFIX} characters`);
    if (!NAME_PATTERN.test(input.namePrefix)) {
      throw invalidRequest("name_prefix must be lowercase letters, digits and dashes, starting and ending with a letter or digit");
    }
  }
}

/** FNV-1a 64 of the instance id, mod min(interval/10, 5m): spreads schedules of equal interval apart (§5.2). */
export function scheduleJitterMs(instanceId: string, intervalMs: number): number {
  const maxJitterNs = BigInt(Math.floor(Math.min(intervalMs / 10, MAX_JITTER_MS))) * 1_000_000n;
  if (maxJitterNs === 0n) return 0;
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(instanceId)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number((hash % maxJitterNs) / 1_000_000n);
}

export function getSchedule(ctx: CoreContext, ref: string): Schedule {
  const { id } = resolveInstance(ctx, ref);
  const row = ctx.schedules.get(id);
  if (!row) throw notFound("snapshot schedule not found");
  return row;
}

/** Create or update. Same interval keeps the cadence; history (runs, errors, created_at) always survives. */
export function setSchedule(ctx: CoreContext, ref: string, input: SetScheduleInput): Schedule {
  validateSchedule(input);
  const { id } = resolveInstance(ctx, ref);
  const now = ctx.clock();
  const existing = ctx.schedules.get(id);
  const keepCadence = existing !== undefined && existing.intervalMs === input.intervalMs;
  const row: Schedule = {
    instanceId: id,
    intervalMs: input.intervalMs,
    cron: null,
    timezone: null,
    keep: null,
    namePrefix: input.namePrefix || null,
    metadata: input.metadata,
    maxCount: input.maxCount,
    maxAgeMs: input.maxAgeMs,
    nextRunAt: keepCadence ? existing.nextRunAt : new Date(now.getTime() + input.intervalMs + scheduleJitterMs(id, input.intervalMs)),
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
