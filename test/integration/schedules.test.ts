// Scheduled snapshots of a running guest, driven by the real croner loop (1 s test tick) and a clock moved
// forward: Standby snapshots are taken while the instance keeps running, retention keeps exactly max_count, and a
// scheduled snapshot with a fork survives retention; a cron schedule fires the same way.
import { expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootCount, bootGuest, consoleTicks, isContinuous, withGuestService } from "./guest.ts";

let svc: TestService;
let offsetMs = 0;

withGuestService((s) => (svc = s), { clock: () => new Date(Date.now() + offsetMs), scheduler: { enabled: true, tickSeconds: 1 } });

/** Moves the clock past the next run and waits for the loop to commit a new snapshot; returns its id and how
 * long the run took from the moment it was due. */
async function nextScheduledRun(ref: string, previous: string | null): Promise<{ id: string; ms: number }> {
  const schedule = (await svc.call("GET", `/instances/${ref}/snapshot-schedule`)).body;
  offsetMs += new Date(schedule.next_run_at).getTime() - (Date.now() + offsetMs) + 100;
  const due = performance.now();
  for (;;) {
    const s = (await svc.call("GET", `/instances/${ref}/snapshot-schedule`)).body;
    if (s.last_error) throw new Error(`scheduled run failed: ${s.last_error}`);
    if (s.last_snapshot_id && s.last_snapshot_id !== previous) return { id: s.last_snapshot_id, ms: performance.now() - due };
    if (performance.now() - due > 60_000) throw new Error("no scheduled snapshot within 60 s");
    await Bun.sleep(50);
  }
}

test("a schedule snapshots a running instance, keeps max_count, and never deletes a referenced snapshot", async () => {
  const { id } = await bootGuest(svc, "sched");
  expect((await svc.call("PUT", "/instances/sched/snapshot-schedule", { interval: "1m", retention: { max_count: 2 }, name_prefix: "auto" })).status).toBe(200);

  const runs: { id: string; ms: number }[] = [];
  for (let i = 0; i < 3; i++) runs.push(await nextScheduledRun("sched", runs.at(-1)?.id ?? null));
  console.log(`scheduled run, due → snapshot committed (includes up to 1 s of tick): ${runs.map((r) => r.ms.toFixed(0)).join(", ")} ms`);

  const scheduled = (await svc.call("GET", `/snapshots?source_instance_id=${id}&tags[hypeman.scheduled]=true`)).body as { id: string; name: string; kind: string }[];
  expect(scheduled.map((s) => s.id)).toEqual([runs[1]!.id, runs[2]!.id]);
  for (const s of scheduled) {
    expect(s.kind).toBe("Standby");
    expect(s.name).toMatch(/^auto-\d{8}-\d{6}$/);
  }
  expect((await svc.call("GET", "/instances/sched")).body.state).toBe("Running");
  expect(isContinuous(await consoleTicks(svc, "sched"))).toBe(true);
  expect(await bootCount(svc, "sched")).toBe(1);

  // A fork pins the oldest kept snapshot; two more runs cannot delete it.
  const pinned = runs[1]!.id;
  expect((await svc.call("POST", `/snapshots/${pinned}/fork`, { name: "pin", target_state: "Stopped" })).status).toBe(201);
  runs.push(await nextScheduledRun("sched", runs.at(-1)!.id));
  runs.push(await nextScheduledRun("sched", runs.at(-1)!.id));
  const after = ((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body as { id: string }[]).map((s) => s.id);
  expect(after).toContain(pinned);
  expect(after).toContain(runs[4]!.id);
  expect(after).toContain(runs[3]!.id);
  expect(after).not.toContain(runs[2]!.id);
});

test("a cron schedule fires through the real croner loop on a running guest; keep_last retention keeps only its own", async () => {
  const { id } = await bootGuest(svc, "cron");
  const manual = (await svc.call("POST", "/instances/cron/snapshots", { kind: "Standby", name: "by-hand" })).body.id;
  const nextMinute = () => (Math.floor((Date.now() + offsetMs) / 60_000) + 1) * 60_000;
  const before = nextMinute();
  const set = await svc.call("PUT", "/instances/cron/snapshot-schedule", { cron: "* * * * *", timezone: "Europe/Berlin", retention: { keep_last: 1 } });
  expect(set.status).toBe(200);
  // Due in the next minute the expression names (the per-instance jitter stays under a minute).
  const due = Date.parse(set.body.next_run_at);
  expect(due).toBeGreaterThanOrEqual(before);
  expect(due).toBeLessThan(nextMinute() + 60_000);
  const first = await nextScheduledRun("cron", null);
  const second = await nextScheduledRun("cron", first.id);
  const snaps = (await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body as { id: string; origin: string; schedule_id: string | null; kind: string }[];
  expect(snaps.map((s) => s.id).sort()).toEqual([manual, second.id].sort());
  expect(snaps.find((s) => s.id === second.id)).toMatchObject({ origin: "schedule", schedule_id: id, kind: "Standby" });
  expect(snaps.find((s) => s.id === manual)).toMatchObject({ origin: "manual", schedule_id: null });
  expect((await svc.call("GET", "/instances/cron")).body.state).toBe("Running");
});
