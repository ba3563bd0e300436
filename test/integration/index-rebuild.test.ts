// With real guests: the database deleted while two instances (one in Standby) and three snapshots (one with two
// forks) exist; the restart lists them all again from their payload records, with the right ref_counts, and the
// Standby instance restores into the same guest (its tick counter continues, it booted once).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage, startService, type TestService } from "../harness.ts";
import { bootCount, bootGuest, consoleTicks, isContinuous, tick, vmmProcesses, waitForTicks } from "./guest.ts";

let dataDir: string;
let svc: TestService;
beforeAll(async () => {
  await ensureGuestImage();
  dataDir = mkdtempSync(join(tmpdir(), "sv-reindex-"));
  svc = await startService({ dataDir });
});
afterAll(async () => {
  await svc.sv.stop();
  expect(vmmProcesses(join(dataDir, "guests"))).toEqual([]);
  rmSync(dataDir, { recursive: true, force: true });
});

/** What must survive the loss of the index (state aside: a graceful stop puts Running guests into Standby). */
const identity = ({ id, name, image, size, overlay_size, vcpus, env, tags, created_at, fork_of_snapshot }: Record<string, unknown>) => ({
  id, name, image, size, overlay_size, vcpus, env, tags, created_at, fork_of_snapshot,
});

test("a deleted database is rebuilt from the payload dirs, and the Standby guest restores", async () => {
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const res = await svc.call(method, path, body);
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
    return res.body;
  };
  const keeper = await bootGuest(svc, "keeper", { tags: { role: "web" } });
  const sleeper = await bootGuest(svc, "sleeper");
  await waitForTicks(svc, sleeper.id, 3);
  const before = await tick(svc, sleeper.id);
  await call("POST", `/instances/${sleeper.id}/standby`);

  const s1 = await call("POST", `/instances/${keeper.id}/snapshots`, { kind: "Standby", name: "s1", tags: { gen: "1" } }, 201);
  const forkA = await call("POST", `/snapshots/${s1.id}/fork`, { name: "fork-a", target_state: "Stopped" }, 201);
  await call("POST", `/snapshots/${s1.id}/fork`, { name: "fork-b", target_state: "Stopped" }, 201);
  await call("POST", `/instances/${sleeper.id}/snapshots`, { kind: "Standby", name: "s2" }, 201);
  await call("POST", `/instances/${forkA.id}/snapshots`, { kind: "Stopped", name: "s3" }, 201);
  const instances = ((await call("GET", "/instances")) as Record<string, unknown>[]).map(identity);
  const snapshots = await call("GET", "/snapshots");
  await svc.sv.stop();

  for (const file of readdirSync(dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(dataDir, file));
  svc = await startService({ dataDir });

  expect(((await call("GET", "/instances")) as Record<string, unknown>[]).map(identity)).toEqual(instances);
  expect(await call("GET", "/snapshots")).toEqual(snapshots);
  const refCounts = Object.fromEntries(((await call("GET", "/snapshots")) as { name: string; ref_count: number }[]).map((s) => [s.name, s.ref_count]));
  expect(refCounts).toEqual({ s1: 2, s2: 0, s3: 0 });
  expect((await call("GET", `/instances/${sleeper.id}`)).state).toBe("Standby");

  const restored = await call("POST", `/instances/${sleeper.id}/restore`);
  expect(restored.state).toBe("Running");
  expect(await tick(svc, sleeper.id)).toBeGreaterThanOrEqual(before);
  await waitForTicks(svc, sleeper.id, before + 2);
  expect(isContinuous(await consoleTicks(svc, sleeper.id))).toBe(true);
  expect(await bootCount(svc, sleeper.id)).toBe(1);
}, 300_000);
