// Cron schedules with a fake clock, retention tiers and their dry-run preview, pins and the server-owned origin,
// and a 400 naming the field for every new field's limits and types. Stopped snapshots of Stopped instances.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
let now = new Date("2026-11-30T09:58:00Z"); // a Monday
const advance = (ms: number) => (now = new Date(now.getTime() + ms));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

beforeAll(async () => {
  svc = await startService({ clock: () => now });
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

async function instance(name: string): Promise<string> {
  const res = await svc.call("POST", "/instances", { name, image: "fake", size: "256MB", overlay_size: "64MB" });
  expect(res.status).toBe(201);
  return res.body.id;
}
const put = (ref: string, body: unknown) => svc.call("PUT", `/instances/${ref}/snapshot-schedule`, body);
const schedule = async (ref: string) => (await svc.call("GET", `/instances/${ref}/snapshot-schedule`)).body;

describe("cron schedules", () => {
  test("*/15 fires at minutes 0, 15, 30, 45 (within the minute), once each, never backfilled", async () => {
    await instance("quarter");
    const set = await put("quarter", { cron: "*/15 * * * *", timezone: "Europe/Berlin", retention: { keep_last: 100 } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ interval: null, cron: "*/15 * * * *", timezone: "Europe/Berlin", retention: { max_count: 0, keep_last: 100 } });
    const next = new Date(set.body.next_run_at);
    expect(next.getTime()).toBeGreaterThanOrEqual(Date.parse("2026-11-30T10:00:00Z"));
    expect(next.getTime()).toBeLessThan(Date.parse("2026-11-30T10:01:00Z"));

    // Two hours of 10-second ticks: each run is due in the minute cron names (jitter < 1 min) and runs at the
    // first tick from then on.
    const runs: { due: string; ran: string }[] = [];
    let due = set.body.next_run_at as string;
    for (let i = 0; i < 720; i++) {
      advance(10_000);
      expect(await svc.sv.runDueSchedules()).toEqual([]);
      const s = await schedule("quarter");
      if (s.last_run_at && s.last_run_at !== runs.at(-1)?.ran) runs.push({ due, ran: s.last_run_at });
      due = s.next_run_at;
    }
    expect(runs.map((r) => r.due.slice(11, 16))).toEqual(["10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30", "11:45"]);
    for (const r of runs) expect(Date.parse(r.ran) - Date.parse(r.due)).toBeLessThan(10_000);
    for (const r of runs) expect(Date.parse(r.ran)).toBeGreaterThanOrEqual(Date.parse(r.due));

    // Down for an hour: one run when it comes back, then the next quarter (no backfill of the missed four).
    advance(HOUR);
    expect(await svc.sv.runDueSchedules()).toEqual([]);
    expect(await svc.sv.runDueSchedules()).toEqual([]);
    const after = await schedule("quarter");
    expect(after.last_run_at).toBe(now.toISOString());
    const snaps = (await svc.call("GET", `/snapshots?source_instance_id=${after.instance_id}`)).body;
    expect(snaps).toHaveLength(9);
    expect(Date.parse(after.next_run_at)).toBeGreaterThan(now.getTime());
    expect(Date.parse(after.next_run_at) - now.getTime()).toBeLessThanOrEqual(15 * MINUTE + MINUTE);
  });

  test("a daily cron runs at the hour of its timezone; an unchanged cadence keeps its next run", async () => {
    await instance("nightly-ny");
    const set = (await put("nightly-ny", { cron: "0 3 * * *", timezone: "America/New_York", retention: { keep_daily: 7 } })).body;
    // 03:00 in New York in winter is 08:00 UTC.
    expect(set.next_run_at.slice(0, 16)).toBe("2026-12-01T08:00");
    const again = (await put("nightly-ny", { cron: "0 3 * * *", timezone: "America/New_York", retention: { keep_daily: 3 } })).body;
    expect(again.next_run_at).toBe(set.next_run_at);
    const moved = (await put("nightly-ny", { cron: "0 3 * * *", timezone: "Asia/Tokyo", retention: { keep_daily: 3 } })).body;
    expect(moved.next_run_at.slice(0, 16)).toBe("2026-11-30T18:00");
  });
});

describe("pins and origin", () => {
  test("pinned at create and by PATCH; DELETE of a pinned snapshot is 409 naming the pin; origin is the server's", async () => {
    await instance("pins");
    const snap = (await svc.call("POST", "/instances/pins/snapshots", { kind: "Stopped", pinned: true })).body;
    expect(snap).toMatchObject({ pinned: true, origin: "manual", schedule_id: null });
    const refused = await svc.call("DELETE", `/snapshots/${snap.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "conflict" });
    expect(refused.body.message).toContain("pinned");
    const unpinned = await svc.call("PATCH", `/snapshots/${snap.id}`, { pinned: false });
    expect(unpinned.status).toBe(200);
    expect(unpinned.body.pinned).toBe(false);
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).body.pinned).toBe(false);
    expect((await svc.call("PATCH", `/snapshots/${snap.id}`, { pinned: true })).body.pinned).toBe(true);
    expect((await svc.call("PATCH", `/snapshots/${snap.id}`, { pinned: false })).status).toBe(200);
    expect((await svc.call("DELETE", `/snapshots/${snap.id}`)).status).toBe(204);
    expect((await svc.call("PATCH", `/snapshots/${snap.id}`, { pinned: true })).status).toBe(404);
    // Clients cannot claim a schedule made it.
    for (const field of ["origin", "schedule_id"]) {
      const res = await svc.call("POST", "/instances/pins/snapshots", { kind: "Stopped", [field]: field === "origin" ? "schedule" : "x" });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(field);
    }
  });
});

describe("retention preview", () => {
  test("preview lists each scheduled snapshot with keep/remove and its rules; applying removes exactly those", async () => {
    const id = await instance("tiers");
    // Hourly snapshots for two days, all kept by a generous count.
    expect((await put("tiers", { interval: "1h", retention: { max_count: 1000 } })).status).toBe(200);
    for (let i = 0; i < 50; i++) {
      advance(HOUR);
      expect(await svc.sv.runDueSchedules()).toEqual([]);
    }
    const manual = (await svc.call("POST", "/instances/tiers/snapshots", { kind: "Stopped", name: "by-hand" })).body.id;
    const current = (await svc.call("POST", "/instances/tiers/snapshot-schedule/preview")).body;
    const n = current.snapshots.length as number;
    expect(n).toBeGreaterThanOrEqual(49);
    expect(current).toMatchObject({ instance_id: id, keep: n, remove: 0 });
    expect(current.snapshots.map((s: { id: string }) => s.id)).not.toContain(manual);
    expect((await schedule("tiers")).retention_preview).toEqual({ keep: n, remove: 0 });

    const candidate = { interval: "1h", timezone: "Europe/Berlin", retention: { keep_last: 2, keep_daily: 2, keep_within: "3h" } };
    const oldest = current.snapshots.at(-1).id;
    const forkedOne = current.snapshots.at(-2).id;
    expect((await svc.call("PATCH", `/snapshots/${oldest}`, { pinned: true })).status).toBe(200);
    expect((await svc.call("POST", `/snapshots/${forkedOne}/fork`, { name: "tiers-fork" })).status).toBe(201);
    const preview = (await svc.call("POST", "/instances/tiers/snapshot-schedule/preview", candidate)).body;
    type Row = { id: string; action: string; reasons: string[]; pinned: boolean; ref_count: number };
    const rows = preview.snapshots as Row[];
    expect(rows).toHaveLength(n);
    expect(rows[0]!.reasons).toEqual(["keep_last", "keep_within", "keep_daily"]);
    expect(rows[1]!.reasons).toEqual(["keep_last", "keep_within"]);
    // keep_within 3h of the newest: the three before it too.
    expect(rows.slice(2, 4).map((r) => r.reasons)).toEqual([["keep_within"], ["keep_within"]]);
    expect(rows.find((r) => r.id === oldest)).toMatchObject({ action: "keep", pinned: true, reasons: ["pinned"] });
    expect(rows.find((r) => r.id === forkedOne)).toMatchObject({ action: "keep", reasons: ["forked"], ref_count: 1 });
    // keep_daily 2: the newest of today and of yesterday (Berlin days).
    expect(rows.filter((r) => r.reasons.includes("keep_daily"))).toHaveLength(2);
    expect(preview.keep).toBe(rows.filter((r) => r.action === "keep").length);
    expect(preview).toMatchObject({ keep: 7, remove: n - 7 });

    // Nothing was deleted by the preview. Set the candidate: GET counts and a body-less preview agree with it.
    expect((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body).toHaveLength(n + 1);
    expect((await put("tiers", candidate)).body.retention_preview).toEqual({ keep: preview.keep, remove: preview.remove });
    expect((await svc.call("POST", "/instances/tiers/snapshot-schedule/preview", {})).body.snapshots).toEqual(preview.snapshots);
    // With the instance gone the run takes no new snapshot, only retention: it removes exactly the previewed ones.
    expect((await svc.call("DELETE", "/instances/tiers")).status).toBe(204);
    advance(HOUR);
    expect(await svc.sv.runDueSchedules()).toEqual([]);
    const left = new Set(((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body as { id: string }[]).map((s) => s.id));
    expect(left).toEqual(new Set([...rows.filter((r) => r.action === "keep").map((r) => r.id), manual]));
    // The pinned and forked ones may still go once unprotected: the schedule stays for them.
    expect(svc.sv.core.schedules.get(id)).toBeDefined();
  }, 120_000);

  test("without a schedule the preview of the current one is 404; a candidate works", async () => {
    await instance("noschedule");
    expect((await svc.call("POST", "/instances/noschedule/snapshot-schedule/preview")).status).toBe(404);
    const res = await svc.call("POST", "/instances/noschedule/snapshot-schedule/preview", { cron: "@daily", retention: { keep_daily: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ keep: 0, remove: 0, snapshots: [] });
  });
});

describe("every new field's limits and types are a 400 naming the field", () => {
  const base = { interval: "1h", retention: { keep_last: 1 } };
  const cases: [string, unknown, string][] = [
    ["both cadences", { ...base, cron: "* * * * *" }, "exactly one of interval or cron"],
    ["no cadence", { retention: { keep_last: 1 } }, "exactly one of interval or cron"],
    ["cron type", { cron: 5, retention: { keep_last: 1 } }, "cron"],
    ["cron length", { cron: "*".repeat(129), retention: { keep_last: 1 } }, "cron"],
    ["cron syntax", { cron: "61 * * * *", retention: { keep_last: 1 } }, "cron:"],
    ["cron seconds", { cron: "* * * * * *", retention: { keep_last: 1 } }, "cron: must have 5 fields"],
    ["cron never", { cron: "0 0 30 2 *", retention: { keep_last: 1 } }, "cron: the expression never fires"],
    ["timezone name", { ...base, timezone: "Mars/Olympus" }, "timezone"],
    ["timezone type", { ...base, timezone: 1 }, "timezone"],
    ["timezone length", { ...base, timezone: "x".repeat(65) }, "timezone"],
    ["keep_within syntax", { interval: "1h", retention: { keep_within: "a week" } }, "retention.keep_within must be a valid duration"],
    ["keep_within type", { interval: "1h", retention: { keep_within: 3 } }, "retention.keep_within"],
    ["no rule", { interval: "1h", retention: { keep_daily: 0 } }, "retention.max_count or retention.max_age must be set, or a keep_* rule"],
    ["unknown rule", { interval: "1h", retention: { keep_tag: "x" } }, "retention.keep_tag"],
  ];
  for (const field of ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]) {
    for (const bad of [-1, 1.5, 10_001, "3", null]) cases.push([`${field} ${JSON.stringify(bad)}`, { interval: "1h", retention: { [field]: bad } }, `retention.${field}`]);
  }

  test("PUT and preview", async () => {
    await instance("val2");
    for (const [what, body, message] of cases) {
      for (const res of [await put("val2", body), await svc.call("POST", "/instances/val2/snapshot-schedule/preview", body)]) {
        expect(res.status, what).toBe(400);
        expect(res.body.message, what).toContain(message);
      }
    }
    for (const field of ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]) {
      expect((await put("val2", { interval: "1h", retention: { [field]: 10_000 } })).status, field).toBe(200);
    }
  });

  test("pinned at create and in PATCH", async () => {
    await instance("val3");
    const snap = (await svc.call("POST", "/instances/val3/snapshots", { kind: "Stopped" })).body.id;
    for (const bad of ["yes", 1, null]) {
      const create = await svc.call("POST", "/instances/val3/snapshots", { kind: "Stopped", pinned: bad });
      expect(create.status).toBe(400);
      expect(create.body.message).toContain("pinned");
      const patch = await svc.call("PATCH", `/snapshots/${snap}`, { pinned: bad });
      expect(patch.status).toBe(400);
      expect(patch.body.message).toContain("pinned");
    }
    expect((await svc.call("PATCH", `/snapshots/${snap}`, {})).body.message).toContain("pinned");
    expect((await svc.call("PATCH", `/snapshots/${snap}`, { pinned: true, name: "x" })).body.message).toContain('"name"');
  });
});

test("the OpenAPI document describes every new field and route", async () => {
  const doc = (await svc.call("GET", "/openapi.json")).body;
  const schemas = doc.components.schemas;
  const described = (props: Record<string, { description?: string }>, names: string[]) =>
    names.filter((n) => !props[n]?.description);
  const set = schemas.SetSnapshotScheduleRequest.properties;
  expect(described(set, ["interval", "cron", "timezone"])).toEqual([]);
  const keep = ["max_count", "max_age", "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "keep_within"];
  expect(described(set.retention.properties, keep)).toEqual([]);
  expect(described(schemas.SnapshotSchedule.properties, ["cron", "timezone", "retention_preview"])).toEqual([]);
  expect(described(schemas.SnapshotSchedule.properties.retention.properties, keep)).toEqual([]);
  expect(described(schemas.Snapshot.properties, ["origin", "schedule_id", "pinned"])).toEqual([]);
  expect(described(schemas.CreateSnapshotRequest.properties, ["pinned"])).toEqual([]);
  expect(described(schemas.PatchSnapshotRequest.properties, ["pinned"])).toEqual([]);
  expect(described(schemas.LineageNode.properties, ["state", "ref_count", "memory", "disk_bytes", "source_deleted", "depth", "children_cut"])).toEqual([]);
  expect(Object.keys(doc.paths["/instances/{id}/snapshot-schedule/preview"])).toEqual(["post"]);
  expect(doc.paths["/snapshots/{snapshotId}"].patch).toBeDefined();
  expect(doc.paths["/instances/{id}/lineage"].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(["cursor", "id", "limit", "max_depth"]);
  expect(doc.paths["/snapshots/{snapshotId}/lineage"].get).toBeDefined();
});
