// The retention decision: restic's documented `forget` examples as fixed cases, and properties over random
// histories (two years, random pins, forks and manual snapshots) and random policies.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CALENDAR_TIERS, calendarPeriods, decideRetention, isoWeek, type RetentionCandidate, type RetentionPolicy } from "./retention-policy.ts";

const SCHEDULE = "inst-1";
const DAY = 86_400_000;
const HOUR = 3_600_000;

function scheduled(id: string, at: Date, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id, createdAt: at, origin: "schedule", scheduleId: SCHEDULE, pinned: false, refCount: 0, ...extra };
}
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ maxCount: 0, maxAgeMs: 0, keep: null, timezone: null, ...p });
const keptIds = (p: RetentionPolicy, snaps: RetentionCandidate[], now: Date) =>
  decideRetention(p, SCHEDULE, snaps, now).filter((d) => d.keep).map((d) => d.snapshot.id);

describe("restic's documented forget examples", () => {
  test("one backup every Sunday for 12 weeks, --keep-daily 4: the last four Sundays stay", () => {
    const sundays = Array.from({ length: 12 }, (_, i) => scheduled(`s${i}`, new Date(Date.UTC(2019, 8, 1 + 7 * i, 11))));
    const decisions = decideRetention(policy({ keep: { daily: 4 } }), SCHEDULE, sundays, new Date("2019-11-18T00:00:00Z"));
    expect(decisions.filter((d) => d.keep).map((d) => d.snapshot.createdAt.toISOString().slice(0, 10))).toEqual([
      "2019-11-17",
      "2019-11-10",
      "2019-11-03",
      "2019-10-27",
    ]);
    expect(decisions.filter((d) => d.keep).every((d) => d.reasons.join() === "keep_daily")).toBe(true);
    expect(decisions.filter((d) => !d.keep)).toHaveLength(8);
  });

  test("a backup every day for 100 years, --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75", () => {
    const end = Date.UTC(2125, 5, 17, 5); // a Sunday, so the 7 dailies span one ISO week, mid-year, mid-month
    const days = Array.from({ length: 36_525 }, (_, i) => scheduled(`d${i}`, new Date(end - i * DAY)));
    const decisions = decideRetention(policy({ keep: { daily: 7, weekly: 5, monthly: 12, yearly: 75 } }), SCHEDULE, days, new Date(end));
    const kept = decisions.filter((d) => d.keep);
    const by = (reason: string) => kept.filter((d) => d.reasons.includes(reason as never));
    // "the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the 7 dailies already include 1 weekly)"
    expect(by("keep_daily").map((d) => d.snapshot.id)).toEqual(decisions.slice(0, 7).map((d) => d.snapshot.id));
    const weeklyOnly = by("keep_weekly").filter((d) => !d.reasons.includes("keep_daily"));
    expect(weeklyOnly).toHaveLength(4);
    expect(weeklyOnly.every((d) => d.snapshot.createdAt.getUTCDay() === 0)).toBe(true);
    // "12 or 11 last-day-of-the-month snapshots ... 75 or 74 last-day-of-the-year", less those an earlier tier kept.
    expect(by("keep_monthly")).toHaveLength(12);
    expect(by("keep_yearly")).toHaveLength(75);
    const none = (...reasons: string[]) => (d: { reasons: string[] }) => !reasons.some((r) => d.reasons.includes(r));
    const monthlyOnly = by("keep_monthly").filter(none("keep_daily", "keep_weekly"));
    const yearlyOnly = by("keep_yearly").filter(none("keep_daily", "keep_weekly", "keep_monthly"));
    expect(monthlyOnly).toHaveLength(11); // June's newest is today's daily
    expect(yearlyOnly).toHaveLength(73); // 2125's newest is today's, 2124-12-31 is a monthly
    expect(kept).toHaveLength(7 + 4 + 11 + 73);
    expect(yearlyOnly.every((d) => d.snapshot.createdAt.getUTCMonth() === 11 && d.snapshot.createdAt.getUTCDate() === 31)).toBe(true);
    expect(monthlyOnly.every((d) => new Date(d.snapshot.createdAt.getTime() + DAY).getUTCDate() === 1)).toBe(true);
  });

  test("--keep-last: the n most recent; --keep-within: relative to the newest snapshot, not to now", () => {
    const snaps = Array.from({ length: 10 }, (_, i) => scheduled(`h${i}`, new Date(Date.UTC(2026, 0, 1, i))));
    expect(keptIds(policy({ keep: { last: 3 } }), snaps, new Date("2030-01-01T00:00:00Z"))).toEqual(["h9", "h8", "h7"]);
    expect(keptIds(policy({ keep: { withinMs: 2 * HOUR } }), snaps, new Date("2030-01-01T00:00:00Z"))).toEqual(["h9", "h8", "h7"]);
  });

  test("too few periods for a tier: the oldest snapshot is kept as well, marked oldest", () => {
    const snaps = [scheduled("a", new Date("2026-01-01T10:00:00Z")), scheduled("b", new Date("2026-01-01T11:00:00Z"))];
    const d = decideRetention(policy({ keep: { daily: 7 } }), SCHEDULE, snaps, new Date("2026-01-02T00:00:00Z"));
    expect(d.map((x) => [x.snapshot.id, x.reasons])).toEqual([
      ["b", ["keep_daily"]],
      ["a", ["keep_daily (oldest)"]],
    ]);
  });
});

describe("calendar periods", () => {
  test("ISO weeks: Monday starts a week; week 1 holds the first Thursday", () => {
    expect(isoWeek(2026, 1, 1)).toBe("2026-W01"); // a Thursday
    expect(isoWeek(2024, 12, 30)).toBe("2025-W01"); // a Monday before the first Thursday of 2025
    expect(isoWeek(2021, 1, 3)).toBe("2020-W53"); // a Sunday
    expect(isoWeek(2026, 11, 29)).toBe("2026-W48"); // Sunday ends the week
    expect(isoWeek(2026, 11, 30)).toBe("2026-W49");
  });

  test("days are the schedule's timezone's days", () => {
    const at = new Date("2026-06-30T23:30:00Z");
    expect(calendarPeriods(null)(at).daily).toBe("2026-6-30");
    expect(calendarPeriods("Europe/Berlin")(at)).toMatchObject({ daily: "2026-7-1", monthly: "2026-7", hourly: "2026-7-1T01" });
    expect(calendarPeriods("America/New_York")(at).daily).toBe("2026-6-30");
  });
});

// Random histories: times over two years, random pins, forks, manual snapshots and another schedule's.
const T0 = Date.UTC(2025, 0, 1);
const TWO_YEARS = 730 * DAY;
const ZONES = [null, "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];

const historyArb = fc
  .array(
    fc.record({
      at: fc.integer({ min: T0, max: T0 + TWO_YEARS }),
      origin: fc.constantFrom("schedule", "schedule", "schedule", "manual", "other"),
      pinned: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      refCount: fc.nat({ max: 2 }).map((n) => (n === 2 ? 1 : 0)),
    }),
    { maxLength: 150 },
  )
  .map((rows) =>
    rows.map(
      (r, i): RetentionCandidate => ({
        id: `s${String(i).padStart(4, "0")}`,
        createdAt: new Date(r.at),
        origin: r.origin === "manual" ? "manual" : "schedule",
        scheduleId: r.origin === "manual" ? null : r.origin === "other" ? "inst-2" : SCHEDULE,
        pinned: r.pinned,
        refCount: r.refCount,
      }),
    ),
  );
const count = fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined });
const policyArb = fc.record({
  maxCount: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  maxAgeMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 }).map((d) => d * DAY)),
  keep: fc.option(
    fc.record({ last: count, hourly: count, daily: count, weekly: count, monthly: count, yearly: count, withinMs: fc.option(fc.integer({ min: 0, max: 90 * DAY }), { nil: undefined }) }),
    { nil: null },
  ),
  timezone: fc.constantFrom(...ZONES),
});
const nowArb = fc.integer({ min: T0 + TWO_YEARS, max: T0 + TWO_YEARS + 60 * DAY }).map((t) => new Date(t));

/** The retention loop as it was before tiers (max_count/max_age only), as the oracle: the ids it deleted. */
function legacyDeleted(snaps: RetentionCandidate[], maxCount: number, maxAgeMs: number, now: Date): string[] {
  const cutoff = maxAgeMs > 0 ? now.getTime() - maxAgeMs : undefined;
  const candidates = snaps
    .filter((s) => s.origin === "schedule" && s.scheduleId === SCHEDULE)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  return candidates
    .filter((snap, i) => {
      const overCount = maxCount > 0 && i >= maxCount;
      const tooOld = cutoff !== undefined && snap.createdAt.getTime() < cutoff;
      return (overCount || tooOld) && snap.refCount === 0;
    })
    .map((s) => s.id);
}

describe("properties", () => {
  test("the newest snapshot of each of a tier's n most recent periods is kept", () => {
    fc.assert(
      fc.property(historyArb, policyArb, nowArb, (snaps, p, now) => {
        const kept = new Set(keptIds(p, snaps, now));
        const own = snaps.filter((s) => s.scheduleId === SCHEDULE).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
        const periods = calendarPeriods(p.timezone);
        for (const tier of CALENDAR_TIERS) {
          const newestOf = new Map<string, string>();
          for (const s of own) if (!newestOf.has(periods(s.createdAt)[tier])) newestOf.set(periods(s.createdAt)[tier], s.id);
          for (const id of [...newestOf.values()].slice(0, p.keep?.[tier] ?? 0)) expect(kept.has(id)).toBe(true);
        }
        for (const s of own.slice(0, p.keep?.last ?? 0)) expect(kept.has(s.id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("pinned, forked, manual and other schedules' snapshots are never removed", () => {
    fc.assert(
      fc.property(historyArb, policyArb, nowArb, (snaps, p, now) => {
        const removed = new Set(decideRetention(p, SCHEDULE, snaps, now).filter((d) => !d.keep).map((d) => d.snapshot.id));
        for (const s of snaps) {
          if (s.pinned || s.refCount > 0 || s.origin === "manual" || s.scheduleId !== SCHEDULE) expect(removed.has(s.id)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("idempotent: applied to what it kept, it removes nothing more", () => {
    fc.assert(
      fc.property(historyArb, policyArb, nowArb, (snaps, p, now) => {
        const removed = new Set(decideRetention(p, SCHEDULE, snaps, now).filter((d) => !d.keep).map((d) => d.snapshot.id));
        const second = decideRetention(p, SCHEDULE, snaps.filter((s) => !removed.has(s.id)), now);
        expect(second.filter((d) => !d.keep)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test("max_count / max_age alone delete exactly what the old retention deleted", () => {
    fc.assert(
      fc.property(historyArb, policyArb, nowArb, (history, p, now) => {
        const snaps = history.map((s) => ({ ...s, pinned: false }));
        const legacy = { ...p, keep: null };
        if (legacy.maxCount === 0 && legacy.maxAgeMs === 0) legacy.maxCount = 1;
        const removed = decideRetention(legacy, SCHEDULE, snaps, now).filter((d) => !d.keep).map((d) => d.snapshot.id);
        expect(removed.sort()).toEqual(legacyDeleted(snaps, legacy.maxCount, legacy.maxAgeMs, now).sort());
      }),
      { numRuns: 300 },
    );
  });
});
