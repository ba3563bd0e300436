// A process killed with SIGKILL while it writes snapshots leaves nothing visible half-done: after a restart,
// every listed snapshot has its payload, no payload lacks a row, and staging is empty (product.md §2).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, writeSync } from "node:fs";
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
