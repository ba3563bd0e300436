// Snapshot schedules and retention (reference §10 items 12–21) on Stopped instances, with a controlled clock.
// The real-guest schedule scenario (Standby snapshots of a running instance) is in test/integration/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
let now = new Date("2026-11-23T10:00:00Z");
const advance = (ms: number) => (now = new Date(now.getTime() + ms));
const HOUR = 3_600_000;

beforeAll(async () => {
  svc = await startService({ clock: () => now });
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

async function instance(name: string) {
  const res = await svc.call("POST", "/instances", { name, image: "fake", size: "256MB", overlay_size: "64MB" });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

const put = (ref: string, body: unknown) => svc.call("PUT", `/instances/${ref}/snapshot-schedule`, body);

describe("schedule endpoints", () => {
  test("set / get / delete echo the fields with Go durations and jittered next_run_at (item 12)", async () => {
    const { id } = await instance("nightly");
    const res = await put("nightly", { interval: "2h", name_prefix: "nightly", metadata: { env: "test" }, retention: { max_count: 5 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      instance_id: id,
      interval: "2h0m0s",
      name_prefix: "nightly",
      metadata: { env: "test" },
      retention: { max_count: 5 },
      last_run_at: null,
      last_snapshot_id: null,
      last_error: null,
    });
    expect(res.body.retention.max_age).toBeUndefined();
    const next = new Date(res.body.next_run_at).getTime() - now.getTime();
    expect(next).toBeGreaterThanOrEqual(2 * HOUR);
    expect(next).toBeLessThan(2 * HOUR + 5 * 60_000);
    expect((await svc.call("GET", "/instances/nightly/snapshot-schedule")).body).toEqual(res.body);
    expect((await svc.call("DELETE", "/instances/nightly/snapshot-schedule")).status).toBe(204);
    const gone = await svc.call("GET", "/instances/nightly/snapshot-schedule");
    expect(gone.body).toEqual({ code: "not_found", message: "snapshot schedule not found" });
  });

  test("validation messages of the reference (items 16, 17)", async () => {
    await instance("val");
    const cases: [unknown, string][] = [
      [{ interval: "soon", retention: { max_count: 1 } }, "interval must be a valid duration"],
      [{ interval: "30s", retention: { max_count: 1 } }, "interval must be at least 1m0s"],
      [{ interval: "1h", retention: {} }, "retention must include max_count or max_age or a keep_* rule"],
      [{ interval: "1h", retention: { max_count: 0, max_age: "0s" } }, "retention.max_count or retention.max_age must be set"],
      [{ interval: "1h", retention: { max_age: "a day" } }, "retention.max_age must be a valid duration"],
      [{ interval: "1h", retention: { max_count: 1 }, name_prefix: "p".repeat(48) }, "name_prefix must be at most 47 characters"],
    ];
    for (const [body, message] of cases) {
      const res = await put("val", body);
      expect(res.status, message).toBe(400);
      expect(res.body.message).toContain(message);
    }
    expect((await put("val", { interval: "1h", retention: { max_count: 1 }, name_prefix: "p".repeat(47) })).status).toBe(200);
    expect((await put("missing", { interval: "1h", retention: { max_count: 1 } })).status).toBe(404);
  });

  test("max_count 0 is always present; max_age is Go-formatted", async () => {
    await instance("zero");
    const res = await put("zero", { interval: "1h", retention: { max_count: 0, max_age: "24h" } });
    expect(res.body.retention).toEqual({ max_count: 0, max_age: "24h0m0s" });
  });
});

describe("schedule runs", () => {
  test("a run takes a Stopped snapshot of a Stopped source, keeps cadence on update, keeps history (items 13, 14)", async () => {
    const { id } = await instance("cadence");
    const set = await put("cadence", { interval: "1h", retention: { max_count: 3 } });
    advance(HOUR + 10 * 60_000);
    expect(await svc.sv.runDueSchedules()).toEqual([]);
    const after = (await svc.call("GET", "/instances/cadence/snapshot-schedule")).body;
    expect(after.last_run_at).toBe(now.toISOString());
    expect(after.last_error).toBeNull();
    const snap = (await svc.call("GET", `/snapshots/${after.last_snapshot_id}`)).body;
    expect(snap).toMatchObject({ kind: "Stopped", source_instance_id: id, tags: { "hypeman.scheduled": "true", "hypeman.schedule_instance_id": id } });
    expect(snap.name).toMatch(/^scheduled-\d{8}-\d{6}$/);
    // Next run strictly in the future, on the old cadence (no backfill).
    expect(new Date(after.next_run_at).getTime()).toBe(new Date(set.body.next_run_at).getTime() + HOUR);

    const updated = (await put("cadence", { interval: "1h", retention: { max_count: 2 }, metadata: { k: "v" } })).body;
    expect(updated.next_run_at).toBe(after.next_run_at);
    expect(updated.last_run_at).toBe(after.last_run_at);
    expect(updated.last_snapshot_id).toBe(after.last_snapshot_id);
    expect(updated.created_at).toBe(set.body.created_at);
  });

  test("retention keeps max_count newest of the schedule's own snapshots; manual (even with its tags) and referenced ones survive (item 15)", async () => {
    const { id } = await instance("ret");
    const list = async () => ((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body as { id: string }[]).map((s) => s.id);
    // A client can copy the scheduled tags; only the server-owned origin makes a snapshot the schedule's.
    const impostor = (
      await svc.call("POST", "/instances/ret/snapshots", {
        kind: "Stopped",
        name: "impostor",
        tags: { "hypeman.scheduled": "true", "hypeman.schedule_instance_id": id },
      })
    ).body;
    expect(impostor).toMatchObject({ origin: "manual", schedule_id: null, pinned: false });
    await put("ret", { interval: "1m", retention: { max_count: 2 } });
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      advance(2 * 60_000);
      expect(await svc.sv.runDueSchedules()).toEqual([]);
      runs.push((await svc.call("GET", "/instances/ret/snapshot-schedule")).body.last_snapshot_id);
    }
    expect((await svc.call("GET", `/snapshots/${runs[2]}`)).body).toMatchObject({ origin: "schedule", schedule_id: id });
    expect((await list()).sort()).toEqual([impostor.id, runs[1], runs[2]].sort());

    // A scheduled snapshot with a fork is never deleted by retention.
    expect((await svc.call("POST", `/snapshots/${runs[1]}/fork`, { name: "keeper" })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      advance(2 * 60_000);
      expect(await svc.sv.runDueSchedules()).toEqual([]);
    }
    const after = await list();
    expect(after).toContain(runs[1]!);
    expect(after).toContain(impostor.id);
    expect(after).not.toContain(runs[2]);
  });

  test("deleting the instance keeps an age-retention schedule until its snapshots are gone (item 18)", async () => {
    const { id } = await instance("agekeep");
    await put("agekeep", { interval: "1m", retention: { max_age: "1h" } });
    advance(2 * 60_000);
    await svc.sv.runDueSchedules();
    expect(svc.sv.core.schedules.get(id)).toBeDefined();
    await svc.call("DELETE", "/instances/agekeep");
    advance(2 * 60_000);
    await svc.sv.runDueSchedules();
    expect(svc.sv.core.schedules.get(id)).toBeDefined(); // snapshot younger than max_age remains
    advance(2 * HOUR);
    await svc.sv.runDueSchedules(); // retention deletes it; nothing more to clean
    expect(svc.sv.core.schedules.get(id)).toBeUndefined();
    expect((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body).toEqual([]);
  });

  test("count-only retention that has converged removes the schedule of a deleted instance (item 19)", async () => {
    const { id } = await instance("countonly");
    await put("countonly", { interval: "1m", retention: { max_count: 3 } });
    advance(2 * 60_000);
    await svc.sv.runDueSchedules();
    await svc.call("DELETE", "/instances/countonly");
    advance(2 * 60_000);
    await svc.sv.runDueSchedules();
    expect(svc.sv.core.schedules.get(id)).toBeUndefined();
    expect((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body).toHaveLength(1);
  });

  test("one failing schedule does not stop the others; errors name each instance (item 20)", async () => {
    const bad1 = await instance("bad1");
    const bad2 = await instance("bad2");
    await instance("good");
    for (const ref of ["bad1", "bad2", "good"]) await put(ref, { interval: "1m", retention: { max_count: 1 } });
    for (const { id } of [bad1, bad2]) svc.sv.core.instances.update(id, { rowState: "error", stateError: "broken for the test" });
    advance(2 * 60_000);
    const errors = await svc.sv.runDueSchedules();
    expect(errors.join("\n")).toContain(bad1.id);
    expect(errors.join("\n")).toContain(bad2.id);
    expect(errors.join("\n")).toContain("requires source in Running, Standby, or Stopped, got Unknown");
    expect((await svc.call("GET", "/instances/good/snapshot-schedule")).body.last_snapshot_id).not.toBeNull();
    expect(svc.sv.core.schedules.get(bad1.id)?.lastError).toContain("got Unknown");
    for (const { id } of [bad1, bad2]) svc.sv.core.instances.update(id, { rowState: "ready", stateError: null });
  });
});
