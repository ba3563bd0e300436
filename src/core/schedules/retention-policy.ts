// The retention decision, pure: which of a schedule's snapshots stay and why. The runner deletes what it
// removes; the preview shows it. Tiers follow restic `forget`: a snapshot stays if any rule keeps it; a calendar
// tier keeps the newest snapshot of each of its n most recent periods that have snapshots (periods in the
// schedule's timezone, ISO weeks), and the oldest snapshot too while a tier has fewer periods than it asks for;
// keep_within is relative to the newest snapshot. max_count/max_age keep their old meaning and together form one
// more rule: within both limits. Pinned and forked snapshots are never removed.
import type { KeepRules } from "../../store/schema.ts";
import type { SnapshotView } from "../snapshots/view.ts";

export interface RetentionPolicy {
  maxCount: number;
  maxAgeMs: number;
  keep: KeepRules | null;
  /** IANA zone of the calendar periods; null = UTC. */
  timezone: string | null;
}

export type RetentionCandidate = Pick<SnapshotView, "id" | "createdAt" | "origin" | "scheduleId" | "pinned" | "refCount">;

export const CALENDAR_TIERS = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
type CalendarTier = (typeof CALENDAR_TIERS)[number];

/** Why a snapshot stays, named like the wire fields that keep it. */
export type KeepReason =
  | "keep_last"
  | `keep_${CalendarTier}`
  | `keep_${CalendarTier} (oldest)`
  | "keep_within"
  | "max_count"
  | "max_age"
  | "pinned"
  | "forked";

export interface RetentionDecision<T extends RetentionCandidate = RetentionCandidate> {
  snapshot: T;
  keep: boolean;
  /** Empty when removed. */
  reasons: KeepReason[];
}

/** True when the policy keeps anything at all (a policy with no rule would delete every snapshot). */
export function hasRetentionRule(p: Pick<RetentionPolicy, "maxCount" | "maxAgeMs" | "keep">): boolean {
  return p.maxCount > 0 || p.maxAgeMs > 0 || Object.values(p.keep ?? {}).some((n) => n !== undefined && n > 0);
}

/** Decisions for the snapshots `scheduleId` took, newest first; any other snapshot is not retention's business. */
export function decideRetention<T extends RetentionCandidate>(
  policy: RetentionPolicy,
  scheduleId: string,
  snapshots: readonly T[],
  now: Date,
): RetentionDecision<T>[] {
  const sorted = snapshots
    .filter((s) => s.origin === "schedule" && s.scheduleId === scheduleId)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  const reasons = sorted.map(() => new Set<KeepReason>());
  const keep = policy.keep ?? {};

  // max_count / max_age: exactly the old rule (kept unless beyond the count or strictly older than the cutoff).
  if (policy.maxCount > 0 || policy.maxAgeMs > 0) {
    const cutoff = now.getTime() - policy.maxAgeMs;
    sorted.forEach((s, i) => {
      const inCount = policy.maxCount === 0 || i < policy.maxCount;
      const inAge = policy.maxAgeMs === 0 || s.createdAt.getTime() >= cutoff;
      if (!(inCount && inAge)) return;
      if (policy.maxCount > 0) reasons[i]!.add("max_count");
      if (policy.maxAgeMs > 0) reasons[i]!.add("max_age");
    });
  }
  for (let i = 0; i < Math.min(keep.last ?? 0, sorted.length); i++) reasons[i]!.add("keep_last");
  if (keep.withinMs !== undefined && sorted.length > 0) {
    const from = sorted[0]!.createdAt.getTime() - keep.withinMs;
    sorted.forEach((s, i) => s.createdAt.getTime() >= from && reasons[i]!.add("keep_within"));
  }
  const tiers = CALENDAR_TIERS.filter((tier) => (keep[tier] ?? 0) > 0);
  const periodsOf = calendarPeriods(policy.timezone);
  const periods = tiers.length > 0 ? sorted.map((s) => periodsOf(s.createdAt)) : [];
  for (const tier of tiers) {
    let left = keep[tier]!;
    let previous: string | undefined;
    sorted.forEach((_, i) => {
      const period = periods[i]![tier];
      if (left > 0 && period !== previous) {
        reasons[i]!.add(`keep_${tier}`);
        left--;
      }
      previous = period;
    });
    if (left > 0 && sorted.length > 0 && !reasons.at(-1)!.has(`keep_${tier}`)) reasons.at(-1)!.add(`keep_${tier} (oldest)`);
  }
  sorted.forEach((s, i) => {
    if (s.pinned) reasons[i]!.add("pinned");
    if (s.refCount > 0) reasons[i]!.add("forked");
  });
  return sorted.map((snapshot, i) => ({ snapshot, keep: reasons[i]!.size > 0, reasons: [...reasons[i]!] }));
}

type PeriodKeys = Record<CalendarTier, string>;

/** Maps an instant to its hour/day/ISO-week/month/year in `timezone`, as comparable keys. */
export function calendarPeriods(timezone: string | null): (at: Date) => PeriodKeys {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone ?? "UTC",
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
  });
  return (at) => {
    const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
    const [y, m, d] = [Number(part.year), Number(part.month), Number(part.day)];
    return {
      yearly: `${y}`,
      monthly: `${y}-${m}`,
      weekly: isoWeek(y, m, d),
      daily: `${y}-${m}-${d}`,
      hourly: `${y}-${m}-${d}T${part.hour}`,
    };
  };
}

/** ISO 8601 week (`2026-W48`) of a calendar date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, "0")}`;
}
