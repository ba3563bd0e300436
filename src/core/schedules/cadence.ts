// When a schedule runs: every `interval` from a first run jittered per instance, or at each match of its cron
// expression (croner, in its timezone) plus a per-instance jitter inside the minute the expression names. Runs
// missed while the server was down are skipped, never backfilled.
import { Cron } from "croner";
import { invalidRequest } from "../errors.ts";
import type { ScheduleRow } from "../../store/schema.ts";

export const MAX_JITTER_MS = 5 * 60_000;
/** Jitter of a cron run stays below a minute (a tenth of this), so it fires in the minute it names. */
const CRON_JITTER_SPREAD_MS = 10 * 60_000;

type Cadence = Pick<ScheduleRow, "instanceId" | "intervalMs" | "cron" | "timezone">;

/** FNV-1a 64 of the instance id, mod min(interval/10, 5m): spreads schedules of equal cadence apart (§5.2). */
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

/** Throws a 400 naming `timezone` unless it is an IANA zone this runtime knows. */
export function validateTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw invalidRequest(`timezone: unknown IANA time zone ${JSON.stringify(timezone)} (e.g. Europe/Berlin, UTC)`);
  }
}

/** Throws a 400 naming `cron` unless it is a 5-field expression (or @nickname) that fires at some point. */
export function validateCron(expression: string, timezone: string | null): void {
  const fields = expression.trim().split(/\s+/);
  if (!expression.trim().startsWith("@") && fields.length !== 5) {
    throw invalidRequest("cron: must have 5 fields (minute hour day-of-month month day-of-week) or be a @nickname such as @hourly");
  }
  let next: Date | null;
  try {
    next = cronJob(expression, timezone).nextRun();
  } catch (err) {
    throw invalidRequest(`cron: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!next) throw invalidRequest("cron: the expression never fires");
}

function cronJob(expression: string, timezone: string | null): Cron {
  return new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
}

/** The first run of a new (or re-timed) schedule. */
export function firstRunAt(c: Cadence, now: Date): Date {
  if (c.cron) return nextCronRun(c, now);
  return new Date(now.getTime() + c.intervalMs + scheduleJitterMs(c.instanceId, c.intervalMs));
}

/** The run after one that was due at `due` and ran at `now`: strictly after `now`, missed runs skipped. */
export function runAfter(c: Cadence, due: Date, now: Date): Date {
  if (c.cron) return nextCronRun(c, now);
  const missed = Math.floor((now.getTime() - due.getTime()) / c.intervalMs) + 1;
  return new Date(due.getTime() + missed * c.intervalMs);
}

function nextCronRun(c: Cadence, after: Date): Date {
  const next = cronJob(c.cron!, c.timezone).nextRun(after);
  // validateCron proved it fires; an expression that stopped matching (a past year) is parked far away.
  const at = next?.getTime() ?? Date.UTC(9999, 0, 1);
  return new Date(at + scheduleJitterMs(c.instanceId, CRON_JITTER_SPREAD_MS));
}

/** Two cadences are the same when a changed schedule may keep its next run. */
export function sameCadence(a: Cadence, b: Cadence): boolean {
  return a.intervalMs === b.intervalMs && a.cron === b.cron && (a.cron === null || a.timezone === b.timezone);
}
