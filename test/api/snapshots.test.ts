// Snapshots of Stopped instances need no VM: the whole create / list / restore / fork / delete cycle, fan-out
// reference counting, validation and path safety run on real files here. Standby snapshots of running guests are
// in test/integration/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
const guestFile = (id: string, rel: string) => join(svc.dataDir, "guests", id, rel);

beforeAll(async () => {
  svc = await startService();
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

async function instance(name: string) {
  const res = await svc.call("POST", "/instances", { name, image: "fake", size: "256MB", overlay_size: "64MB", tags: { app: name } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string };
}

async function snapshot(instanceRef: string, body: Record<string, unknown> = {}) {
  const res = await svc.call("POST", `/instances/${instanceRef}/snapshots`, { kind: "Stopped", ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; name: string | null; ref_count: number; size_bytes: number };
}

describe("Stopped snapshot lifecycle (reference §10 item 2)", () => {
  test("create, restore in place, delete source, fork, delete in fork-aware order", async () => {
    const src = await instance("src");
    writeFileSync(guestFile(src.id, "marker"), "before");
    const snap = await snapshot("src", { name: "first", tags: { env: "test" } });
    expect(snap).toMatchObject({
      name: "first",
      kind: "Stopped",
      source_instance_id: src.id,
      source_instance_name: "src",
      source_hypervisor: "qemu",
      compression_state: "none",
      compression: null,
      ref_count: 0,
      tags: { env: "test" },
    });
    expect(snap.size_bytes).toBeGreaterThan(64 * 1024 * 1024); // apparent size of the sparse disk + files

    // Restore rolls the files back and keeps the current name.
    writeFileSync(guestFile(src.id, "marker"), "after");
    const restored = await svc.call("POST", `/instances/src/snapshots/${snap.id}/restore`, { target_state: "Stopped" });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id: src.id, name: "src", state: "Stopped" });
    expect(readFileSync(guestFile(src.id, "marker"), "utf8")).toBe("before");

    // Snapshots outlive their source.
    expect((await svc.call("DELETE", "/instances/src")).status).toBe(204);
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).body.id).toBe(snap.id);

    const fork = await svc.call("POST", `/snapshots/${snap.id}/fork`, { name: "src-fork" });
    expect(fork.status).toBe(201);
    expect(fork.body).toMatchObject({ name: "src-fork", state: "Stopped", fork_of_snapshot: snap.id });
    expect(fork.body.id).not.toBe(src.id);
    expect(readFileSync(guestFile(fork.body.id, "marker"), "utf8")).toBe("before");
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).body.ref_count).toBe(1);

    const blocked = await svc.call("DELETE", `/snapshots/${snap.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body).toEqual({ code: "conflict", message: `cannot delete snapshot ${snap.id} with 1 fork(s)` });

    expect((await svc.call("DELETE", "/instances/src-fork")).status).toBe(204);
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).body.ref_count).toBe(0);
    expect((await svc.call("DELETE", `/snapshots/${snap.id}`)).status).toBe(204);
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).status).toBe(404);
    expect(existsSync(join(svc.dataDir, "snapshots", snap.id))).toBe(false);
  });
});

describe("validation and state rules", () => {
  test("kind, name, tags and compression are validated", async () => {
    await instance("val");
    const kind = await svc.call("POST", "/instances/val/snapshots", { kind: "Paused" });
    expect(kind.body).toEqual({ code: "invalid_request", message: "kind must be one of Standby, Stopped" });
    expect((await svc.call("POST", "/instances/val/snapshots", { kind: "Stopped", name: "Not OK" })).status).toBe(400);
    const comp = await svc.call("POST", "/instances/val/snapshots", { kind: "Stopped", compression: { enabled: true } });
    expect(comp.body).toEqual({ code: "invalid_request", message: "compression is only supported for standby snapshots" });
    const algo = await svc.call("POST", "/instances/val/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "gz" } });
    expect(algo.body.code).toBe("invalid_snapshot_compression");
    expect((await svc.call("POST", "/instances/val/snapshots")).status).toBe(400);
  });

  test("a Standby snapshot of a Stopped source is 409 conflict; duplicate names per source are 409", async () => {
    await instance("states");
    const standby = await svc.call("POST", "/instances/states/snapshots", { kind: "Standby" });
    expect(standby.status).toBe(409);
    expect(standby.body).toEqual({ code: "conflict", message: "standby snapshot requires source in Running or Standby, got Stopped" });
    await snapshot("states", { name: "same" });
    const dup = await svc.call("POST", "/instances/states/snapshots", { kind: "Stopped", name: "same" });
    expect(dup.status).toBe(409);
    // The same name on another source is fine.
    await instance("states2");
    await snapshot("states2", { name: "same" });
  });

  test("restore: only into its own source, target rules by kind, target_hypervisor only for Stopped", async () => {
    await instance("owner");
    await instance("other");
    const snap = await snapshot("owner");
    const wrong = await svc.call("POST", `/instances/other/snapshots/${snap.id}/restore`, {});
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toMatch(/belongs to instance/);
    const target = await svc.call("POST", `/instances/owner/snapshots/${snap.id}/restore`, { target_state: "Standby" });
    expect(target.body).toEqual({ code: "invalid_request", message: 'invalid target_state "Standby" for snapshot kind Stopped' });
    const hv = await svc.call("POST", `/instances/owner/snapshots/${snap.id}/restore`, { target_hypervisor: "firecracker", target_state: "Stopped" });
    expect([200, 400]).toContain(hv.status); // 400 only when this host has no firecracker driver
    const noBody = await svc.call("POST", `/instances/owner/snapshots/${snap.id}/restore`);
    expect(noBody.status).toBe(400);
  });

  test("ids that are not a safe path component are simply not found (reference §10 item 3)", async () => {
    const before = readdirSync(svc.dataDir).sort();
    for (const id of ["..", ".", "a/b", "%2e%2e", "..%2F..%2Fetc"]) {
      expect((await svc.call("GET", `/snapshots/${id}`)).status).toBe(404);
      expect((await svc.call("DELETE", `/snapshots/${id}`)).status).toBe(404);
      expect((await svc.call("POST", `/snapshots/${id}/fork`, { name: "trav" })).status).toBe(404);
    }
    expect(readdirSync(svc.dataDir).sort()).toEqual(before);
  });

  test("list filters by source, kind, name and tags, ordered by created_at", async () => {
    const a = await instance("lista");
    await snapshot("lista", { name: "one", tags: { env: "prod", tier: "db" } });
    await snapshot("lista", { name: "two", tags: { env: "dev" } });
    const bySource = (await svc.call("GET", `/snapshots?source_instance_id=${a.id}`)).body as { name: string }[];
    expect(bySource.map((s) => s.name)).toEqual(["one", "two"]);
    const byTags = (await svc.call("GET", `/snapshots?source_instance_id=${a.id}&tags[env]=prod&tags[tier]=db`)).body;
    expect(byTags.map((s: { name: string }) => s.name)).toEqual(["one"]);
    expect((await svc.call("GET", `/snapshots?name=two&source_instance_id=${a.id}`)).body).toHaveLength(1);
    expect((await svc.call("GET", "/snapshots?kind=Standby")).body).toEqual([]);
    expect((await svc.call("GET", "/snapshots?kind=Bogus")).status).toBe(400);
  });

  test("fork names must be free; fork of a Stopped snapshot to Standby is refused", async () => {
    await instance("taken");
    const snap = await snapshot("taken");
    const dup = await svc.call("POST", `/snapshots/${snap.id}/fork`, { name: "taken" });
    expect(dup.status).toBe(409);
    const standby = await svc.call("POST", `/snapshots/${snap.id}/fork`, { name: "fresh", target_state: "Standby" });
    expect(standby.status).toBe(400);
    expect((await svc.call("GET", "/instances/fresh")).status).toBe(404);
  });

  test("fork from a Stopped instance copies its disk and does not reference a snapshot", async () => {
    const src = await instance("forkme");
    writeFileSync(guestFile(src.id, "disk.raw"), "x".repeat(4096), { flag: "r+" });
    const res = await svc.call("POST", "/instances/forkme/fork", { name: "forked" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: "Stopped", fork_of_snapshot: null });
    const a = statSync(guestFile(src.id, "disk.raw"));
    const b = statSync(guestFile(res.body.id, "disk.raw"));
    expect(b.ino).not.toBe(a.ino);
    expect(readFileSync(guestFile(res.body.id, "disk.raw")).subarray(0, 4096).toString()).toBe("x".repeat(4096));
    const again = await svc.call("POST", "/instances/forkme/fork", { name: "forked" });
    expect(again.body.code).toBe("name_conflict");
  });
});
