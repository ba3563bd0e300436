// A process killed with SIGKILL while it writes snapshots, restores them or forks them leaves nothing visible
// half-done: after a restart, every listed snapshot has its payload, no payload lacks a row (one whose row never
// committed is indexed from its record), an instance's files and record come from the same snapshot, ref_counts
// match the forks that exist, and staging is empty (product.md §2).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { REPO, registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
let dataDir: string;

beforeAll(async () => {
  svc = await startService();
  dataDir = svc.dataDir;
  await registerFakeImage(svc);
  const inst = (await svc.call("POST", "/instances", { name: "victim", image: "fake", size: "256MB", overlay_size: "256MB" })).body;
  // Real data in the disk, so each copy takes long enough to be interrupted.
  const disk = join(dataDir, "guests", inst.id, "disk.raw");
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  const fd = openSync(disk, "r+");
  for (let i = 0; i < 96; i++) writeSync(fd, chunk, 0, chunk.length, i * 2 * 1024 * 1024);
  closeSync(fd);
  await svc.sv.stop();
});
afterAll(() => svc.close());

/** Writes `byte` over the first 32 MiB of every other MiB of the disk: data worth copying, and a marker. */
function fillDisk(disk: string, byte: number): void {
  const chunk = Buffer.alloc(1024 * 1024, byte);
  const fd = openSync(disk, "r+");
  for (let i = 0; i < 32; i++) writeSync(fd, chunk, 0, chunk.length, i * 2 * 1024 * 1024);
  closeSync(fd);
}

function diskMarker(disk: string): string {
  const byte = Buffer.alloc(1);
  const fd = openSync(disk, "r");
  readSync(fd, byte, 0, 1, 0);
  closeSync(fd);
  return String.fromCharCode(byte[0]!);
}

function checkConsistent(listed: { id: string }[]): void {
  const rows = new Set(listed.map((x) => x.id));
  for (const id of rows) expect(existsSync(join(dataDir, "snapshots", id, "guest", "vm.json"))).toBe(true);
  expect(readdirSync(join(dataDir, "snapshots")).sort()).toEqual([...rows].sort());
  expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
}

test("SIGKILL during snapshot creation, five times: after each restart the index and the files agree", async () => {
  let total = 0;
  for (let round = 0; round < 5; round++) {
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/snapshot-loop.ts"), dataDir, "victim"], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    await reader.read(); // "ready"
    await Bun.sleep(150 + Math.floor(Math.random() * 400));
    child.kill("SIGKILL");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL"); // it was still writing snapshots, not dead of its own error

    const restarted = await startService({ dataDir });
    const listed = (await restarted.call("GET", "/snapshots")).body as { id: string }[];
    checkConsistent(listed);
    total = listed.length;
    expect((await restarted.call("GET", "/instances/victim")).body.state).toBe("Stopped");
    await restarted.sv.stop();
  }
  expect(total).toBeGreaterThan(0); // the child did commit snapshots between kills
});

test("SIGKILL during snapshot restores: the instance's disk and record always come from one snapshot", async () => {
  // Two Stopped snapshots whose disk marker and tags differ (tags have no update endpoint: set in the record).
  const setup = await startService({ dataDir });
  const id = (await setup.call("POST", "/instances", { name: "flip", image: "fake", size: "256MB", overlay_size: "64MB", tags: { gen: "A" } })).body.id;
  const guest = join(dataDir, "guests", id);
  const disk = join(guest, "disk.raw");
  fillDisk(disk, 0x41);
  const a = (await setup.call("POST", `/instances/${id}/snapshots`, { kind: "Stopped", name: "a" })).body.id;
  setup.sv.core.instances.update(id, { tags: { gen: "B" } });
  fillDisk(disk, 0x42);
  const b = (await setup.call("POST", `/instances/${id}/snapshots`, { kind: "Stopped", name: "b" })).body.id;
  await setup.sv.stop();

  const kill = async (child: Bun.Subprocess) => {
    child.kill("SIGKILL");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL"); // killed mid-loop, not dead of its own error
  };

  async function crashAndCheck(crash: (child: Bun.Subprocess) => Promise<void>): Promise<void> {
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/restore-loop.ts"), dataDir, id, a, b], { stdout: "pipe", stderr: "inherit" });
    await child.stdout.getReader().read(); // "ready"
    await crash(child);

    const restarted = await startService({ dataDir });
    const inst = (await restarted.call("GET", `/instances/${id}`)).body;
    expect({ state: inst.state, marker: diskMarker(disk) }).toEqual({ state: "Stopped", marker: inst.tags.gen });
    expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
    await restarted.sv.stop();
  }

  // At random points of the loop.
  for (let round = 0; round < 5; round++) {
    await crashAndCheck(async (child) => {
      await Bun.sleep(100 + Math.floor(Math.random() * 400));
      await kill(child);
    });
  }

  // Between the swap of the guest dir and the update of the record: the test holds SQLite's write lock, so the
  // child's restore swaps the dir and then waits for the lock; it is killed there.
  for (let round = 0; round < 2; round++) {
    await crashAndCheck(async (child) => {
      const db = new Database(join(dataDir, "snapvisor.db"));
      db.run("BEGIN IMMEDIATE");
      try {
        const before = statSync(guest).ino;
        const deadline = performance.now() + 20_000;
        while (statSync(guest).ino === before) {
          if (performance.now() > deadline) throw new Error("the restore never swapped the guest dir");
          await Bun.sleep(5);
        }
        await Bun.sleep(100); // well inside the child's wait for the lock
        await kill(child);
      } finally {
        db.run("ROLLBACK");
        db.close();
      }
    });
  }
}, 120_000);

test("SIGKILL during forks of a snapshot: every fork dir is listed, and ref_count counts exactly those forks", async () => {
  const setup = await startService({ dataDir });
  const base = (await setup.call("POST", "/instances/victim/snapshots", { kind: "Stopped", name: "fork-base" })).body.id as string;
  await setup.sv.stop();
  let forks = 0;
  for (let round = 0; round < 3; round++) {
    const calls = Array.from({ length: 50 }, (_, i) => ["POST", `/snapshots/${base}/fork`, JSON.stringify({ name: `f${round}-${i}`, target_state: "Stopped" })]).flat();
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/serve-and-call.ts"), dataDir, "", ...calls], { stdout: "pipe", stderr: "inherit" });
    await child.stdout.getReader().read(); // "ready"
    await Bun.sleep(150 + Math.floor(Math.random() * 400));
    child.kill("SIGKILL");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL");

    const restarted = await startService({ dataDir });
    const instances = (await restarted.call("GET", "/instances")).body as { id: string; fork_of_snapshot: string | null }[];
    expect(readdirSync(join(dataDir, "guests")).sort()).toEqual(instances.map((i) => i.id).sort());
    forks = instances.filter((i) => i.fork_of_snapshot === base).length;
    expect((await restarted.call("GET", `/snapshots/${base}`)).body.ref_count).toBe(forks);
    expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
    expect(existsSync(join(dataDir, "quarantine"))).toBe(false);
    await restarted.sv.stop();
  }
  expect(forks).toBeGreaterThan(0); // forks were committed between kills
}, 120_000);
