// The database is an index of the payload files (product.md §2): with snapvisor.db gone, a restart lists every
// image, instance, snapshot and fork link again from the records the payload dirs carry, and moves what it cannot read
// to <data>/quarantine instead of deleting it. (With real guests and a Standby restore: test/integration/
// index-rebuild.test.ts.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
let dataDir: string;
const before: { images: object[]; instances: object[]; snapshots: object[] } = { images: [], instances: [], snapshots: [] };
let s1: string;

beforeAll(async () => {
  svc = await startService();
  dataDir = svc.dataDir;
  await registerFakeImage(svc);
  const create = async (name: string, tags: Record<string, string>) => {
    const res = await svc.call("POST", "/instances", { name, image: "fake", size: "256MB", overlay_size: "64MB", tags, env: { GREETING: name } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const snapshot = async (id: string, name: string) => {
    const res = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Stopped", name, tags: { of: name } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const alpha = await create("alpha", { team: "a" });
  const beta = await create("beta", { team: "b" });
  s1 = await snapshot(alpha, "s1");
  await snapshot(alpha, "s2");
  await snapshot(beta, "s3");
  for (const name of ["fork-1", "fork-2"]) {
    const res = await svc.call("POST", `/snapshots/${s1}/fork`, { name, target_state: "Stopped" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  before.images = (await svc.call("GET", "/images")).body;
  before.instances = (await svc.call("GET", "/instances")).body;
  before.snapshots = (await svc.call("GET", "/snapshots")).body;
  await svc.sv.stop();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("a lost database is rebuilt from the payload dirs; unreadable ones are quarantined, not deleted", async () => {
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(dataDir, file));
  // Dirs no record describes: a guest dir without one and a snapshot dir whose record is damaged.
  mkdirSync(join(dataDir, "guests/strayguest"));
  writeFileSync(join(dataDir, "guests/strayguest/precious"), "keep me");
  mkdirSync(join(dataDir, "snapshots/straysnapshot"));
  writeFileSync(join(dataDir, "snapshots/straysnapshot/snapshot.json"), "{ damaged");

  const restarted = await startService({ dataDir });
  try {
    expect(before.images.length).toBeGreaterThan(0);
    expect((await restarted.call("GET", "/images")).body).toEqual(before.images);
    expect((await restarted.call("GET", "/instances")).body).toEqual(before.instances);
    const snapshots: { name: string; ref_count: number }[] = (await restarted.call("GET", "/snapshots")).body;
    expect(snapshots as object[]).toEqual(before.snapshots);
    expect(Object.fromEntries(snapshots.map((s) => [s.name, s.ref_count]))).toEqual({ s1: 2, s2: 0, s3: 0 });
    expect((await restarted.call("GET", "/instances/fork-1")).body.fork_of_snapshot).toBe(s1);
    expect((await restarted.call("DELETE", `/snapshots/${s1}`)).status).toBe(409); // still referenced

    const quarantined = readdirSync(join(dataDir, "quarantine")).sort();
    expect(quarantined.map((name) => name.replace(/-[0-9tz]+$/, ""))).toEqual(["instance-strayguest", "snapshot-straysnapshot"]);
    expect(readFileSync(join(dataDir, "quarantine", quarantined[0]!, "precious"), "utf8")).toBe("keep me");
    expect(existsSync(join(dataDir, "guests/strayguest"))).toBe(false);
  } finally {
    await restarted.sv.stop();
  }
  // A second start finds nothing to rebuild and changes nothing.
  const again = await startService({ dataDir });
  try {
    expect((await again.call("GET", "/instances")).body).toEqual(before.instances);
    expect((await again.call("GET", "/snapshots")).body).toEqual(before.snapshots);
    expect(readdirSync(join(dataDir, "quarantine"))).toHaveLength(2);
  } finally {
    await again.sv.stop();
  }
});

test("a rebuilt compressed snapshot reports the level its record asked for, not the codec's default", async () => {
  const own = await startService();
  try {
    await registerFakeImage(own);
    const created = await own.call("POST", "/instances", { name: "packed", image: "fake", size: "256MB", overlay_size: "64MB" });
    const standby = join(own.dataDir, "guests", created.body.id, "standby");
    mkdirSync(standby);
    writeFileSync(join(standby, "memory"), "guest memory ".repeat(4096));
    const compression = { enabled: true, algorithm: "zstd", level: 7 };
    const snap = await own.call("POST", "/instances/packed/snapshots", { kind: "Standby", compression });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    let state = snap.body.compression_state;
    for (let i = 0; state === "compressing" && i < 600; i++) {
      await Bun.sleep(50);
      state = (await own.call("GET", `/snapshots/${snap.body.id}`)).body.compression_state;
    }
    expect(state).toBe("compressed");
    await own.sv.stop();
    for (const file of readdirSync(own.dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(own.dataDir, file));
    const rebuilt = await startService({ dataDir: own.dataDir });
    try {
      expect((await rebuilt.call("GET", `/snapshots/${snap.body.id}`)).body).toMatchObject({ compression_state: "compressed", compression });
    } finally {
      await rebuilt.sv.stop();
    }
  } finally {
    await own.close();
  }
});

test("pins, unpins and a schedule's ownership survive a lost database; pinning never changes the manifest", async () => {
  let now = new Date("2026-11-30T10:00:00Z");
  const own = await startService({ clock: () => now });
  const snapshots = () => own.call("GET", "/snapshots");
  let before: { id: string; name: string }[];
  const byName: Record<string, string> = {};
  let scheduledId = "";
  let instanceId = "";
  try {
    await registerFakeImage(own);
    const created = await own.call("POST", "/instances", { name: "keeper", image: "fake", size: "256MB", overlay_size: "64MB" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    instanceId = created.body.id;
    for (const [name, pinned] of [["pinned-at-create", true], ["pinned-by-patch", false], ["unpinned", true], ["damaged", false]] as const) {
      const res = await own.call("POST", "/instances/keeper/snapshots", { kind: "Stopped", name, pinned });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      byName[name] = res.body.id;
    }
    expect((await own.call("PUT", "/instances/keeper/snapshot-schedule", { interval: "1h", retention: { max_count: 5 } })).status).toBe(200);
    now = new Date(now.getTime() + 2 * 3_600_000);
    expect(await own.sv.runDueSchedules()).toEqual([]);
    const scheduled = (await snapshots()).body.filter((s: { origin: string }) => s.origin === "schedule");
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]).toMatchObject({ schedule_id: instanceId, pinned: false });
    scheduledId = scheduled[0].id;

    // Pin and unpin a hashed snapshot: its manifest stays byte for byte, and verify finds nothing unexpected.
    const id = byName["pinned-by-patch"]!;
    const manifestFile = join(own.dataDir, "snapshots", id, "manifest.json");
    let hashed = false;
    for (let i = 0; i < 400 && !hashed; i++) {
      hashed = (await own.call("GET", `/snapshots/${id}/manifest`)).body.job?.state === "done";
      if (!hashed) await Bun.sleep(25);
    }
    expect(hashed).toBe(true);
    const manifest = readFileSync(manifestFile, "utf8");
    for (const pinned of [true, false, true]) {
      expect((await own.call("PATCH", `/snapshots/${id}`, { pinned })).body.pinned).toBe(pinned);
      expect(readFileSync(manifestFile, "utf8")).toBe(manifest);
      expect((await own.call("POST", `/snapshots/${id}/verify`)).body).toMatchObject({ ok: true, problems: [] });
    }
    expect((await own.call("PATCH", `/snapshots/${byName.unpinned}`, { pinned: false })).body.pinned).toBe(false);
    before = (await snapshots()).body;
  } finally {
    await own.sv.stop();
  }

  for (const file of readdirSync(own.dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(own.dataDir, file));
  // A host-local record that cannot be read cannot say the snapshot was not pinned: it comes back pinned.
  writeFileSync(join(own.dataDir, "snapshots", byName.damaged!, "local-state.json"), "{ damaged");
  const rebuilt = await startService({ dataDir: own.dataDir, clock: () => now });
  try {
    const after: { id: string; name: string; pinned: boolean }[] = (await rebuilt.call("GET", "/snapshots")).body;
    const expected = before.map((s) => (s.name === "damaged" ? { ...s, pinned: true } : s));
    expect(after as object[]).toEqual(expected);
    expect(Object.fromEntries(after.map((s) => [s.name, s.pinned]))).toMatchObject({ "pinned-at-create": true, "pinned-by-patch": true, unpinned: false, damaged: true });
    expect((await rebuilt.call("GET", `/snapshots/${scheduledId}`)).body).toMatchObject({ origin: "schedule", schedule_id: instanceId });
    const refused = await rebuilt.call("DELETE", `/snapshots/${byName["pinned-at-create"]}`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain("pinned");
    expect((await rebuilt.call("DELETE", `/snapshots/${byName.unpinned}`)).status).toBe(204);
    // The schedule's snapshot is its again: a schedule put back on the instance manages it (and only it).
    expect((await rebuilt.call("PUT", "/instances/keeper/snapshot-schedule", { interval: "1h", retention: { max_count: 5 } })).status).toBe(200);
    const preview = (await rebuilt.call("POST", "/instances/keeper/snapshot-schedule/preview")).body;
    expect(preview.snapshots.map((s: { id: string }) => s.id)).toEqual([scheduledId]);
  } finally {
    await rebuilt.close();
    rmSync(own.dataDir, { recursive: true, force: true }); // handed in, so close leaves it
  }
});

test("start-up rewrites a host-local record that disagrees with its row, so a later rebuild keeps what clients saw", async () => {
  const own = await startService();
  const ids: Record<string, string> = {};
  try {
    await registerFakeImage(own);
    expect((await own.call("POST", "/instances", { name: "older", image: "fake", size: "256MB", overlay_size: "64MB" })).status).toBe(201);
    for (const name of ["no-record", "stale-record"]) {
      const res = await own.call("POST", "/instances/older/snapshots", { kind: "Stopped", name, pinned: true });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids[name] = res.body.id;
    }
  } finally {
    await own.sv.stop();
  }
  const record = (name: string) => join(own.dataDir, "snapshots", ids[name]!, "local-state.json");
  rmSync(record("no-record")); // a row pinned before host-local records existed
  // A crash after an unpin's record was written, before its row: the client was never told it is unpinned.
  writeFileSync(record("stale-record"), JSON.stringify({ format_version: 2, pinned: false, origin: "manual", scheduleId: null }));
  await (await startService({ dataDir: own.dataDir })).sv.stop();
  for (const name of ["no-record", "stale-record"]) expect(JSON.parse(readFileSync(record(name), "utf8")).pinned, name).toBe(true);

  for (const file of readdirSync(own.dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(own.dataDir, file));
  const rebuilt = await startService({ dataDir: own.dataDir });
  try {
    for (const id of Object.values(ids)) expect((await rebuilt.call("GET", `/snapshots/${id}`)).body.pinned).toBe(true);
  } finally {
    await rebuilt.close();
    rmSync(own.dataDir, { recursive: true, force: true }); // handed in, so close leaves it
  }
});
