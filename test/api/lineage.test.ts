// Lineage through the API on the fake Cloud Hypervisor: instance → Standby snapshot → fork → its snapshot, memory
// shared by hard link, depth and paging bounds, and a snapshot whose source instance was deleted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeVmmService, type FakeVmmService } from "./fake-vmm-service.ts";

let svc: FakeVmmService;
beforeAll(async () => {
  svc = await startFakeVmmService();
});
afterAll(() => svc.close());

interface Node {
  kind: string;
  id: string;
  name: string | null;
  state: string;
  ref_count: number | null;
  memory: { links: number; shared_with: number; allocated_bytes: number } | null;
  vmm_memory: { backing: string; shared_with_snapshot: string | null; private_bytes: number | null } | null;
  disk_bytes: number | null;
  source_deleted: boolean;
  parent_id: string | null;
  depth: number;
  children_cut: boolean;
}

async function ok(method: string, path: string, body?: unknown) {
  const res = await svc.call(method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res;
}

test("instance → snapshots → forks → their snapshots, with memory links, bounds, paging and a deleted source", async () => {
  const a = await svc.createInstance("lin-a");
  await ok("POST", "/instances/lin-a/start");
  const s1 = (await ok("POST", "/instances/lin-a/snapshots", { kind: "Standby", name: "s1" })).body.id as string;
  const s2 = (await ok("POST", "/instances/lin-a/snapshots", { kind: "Standby", name: "s2" })).body.id as string;
  const f = (await ok("POST", `/snapshots/${s1}/fork`, { name: "lin-f", target_state: "Standby" })).body.id as string;
  const fs = (await ok("POST", "/instances/lin-f/snapshots", { kind: "Standby", name: "fs" })).body.id as string;

  const tree = (await ok("GET", "/instances/lin-a/lineage")).body as { ancestors: Node[]; nodes: Node[] };
  expect(tree.ancestors).toEqual([]);
  expect(tree.nodes.map((n) => [n.kind, n.id, n.parent_id, n.depth])).toEqual([
    ["instance", a, null, 0],
    ["snapshot", s1, a, 1],
    ["instance", f, s1, 2],
    ["snapshot", fs, f, 3],
    ["snapshot", s2, a, 1],
  ]);
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  expect(byId.get(a)).toMatchObject({ state: "Running", memory: null, source_deleted: false });
  // The fake VMM loads memory from a stream: its own, nothing mapped; a Standby fork has no VMM.
  expect(byId.get(a)!.vmm_memory).toMatchObject({ backing: "stream", shared_with_snapshot: null });
  expect(byId.get(f)!.vmm_memory).toBeNull();
  expect(byId.get(s1)).toMatchObject({ state: "Standby", ref_count: 1 });
  expect(byId.get(s2)).toMatchObject({ ref_count: 0 });
  // The fork's standby memory is a hard link to its snapshot's: one file, two names, counted in both nodes.
  expect(byId.get(s1)!.memory!.links).toBeGreaterThanOrEqual(2);
  expect(byId.get(f)!.memory).toMatchObject({ links: byId.get(s1)!.memory!.links, allocated_bytes: byId.get(s1)!.memory!.allocated_bytes });
  expect(byId.get(f)!.memory!.shared_with).toBe(byId.get(f)!.memory!.links - 1);
  for (const n of tree.nodes) expect(n.disk_bytes).toBeGreaterThan(0);

  // Depth: children below max_depth are cut, and say so.
  const shallow = (await ok("GET", "/instances/lin-a/lineage?max_depth=1")).body.nodes as Node[];
  expect(shallow.map((n) => n.id)).toEqual([a, s1, s2]);
  expect(shallow.find((n) => n.id === s1)!.children_cut).toBe(true);
  expect(shallow.find((n) => n.id === s2)!.children_cut).toBe(false);

  // Paging: limit nodes per page, the cursor header resumes after the last one, the last page has none.
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 5; i++) {
    const res = await ok("GET", `/instances/lin-a/lineage?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    pages.push((res.body.nodes as Node[]).map((n) => n.id));
    cursor = res.headers.get("x-next-cursor") ?? undefined;
    if (!cursor) break;
  }
  expect(pages).toEqual([[a, s1], [f, fs], [s2]]);
  expect((await svc.call("GET", `/instances/lin-a/lineage?cursor=nosuchnode`)).body.message).toContain("cursor");

  // The fork's own lineage shows where it came from.
  const ofFork = (await ok("GET", `/instances/lin-f/lineage`)).body as { ancestors: Node[]; nodes: Node[] };
  expect(ofFork.ancestors.map((n) => n.id)).toEqual([a, s1]);
  expect(ofFork.nodes.map((n) => n.id)).toEqual([f, fs]);
  expect(ofFork.nodes[0]!.parent_id).toBe(s1);

  // Deleting the source instance leaves its snapshots and the fork: they show the source as deleted.
  await ok("DELETE", "/instances/lin-a");
  expect((await svc.call("GET", "/instances/lin-a/lineage")).status).toBe(404);
  const orphan = (await ok("GET", `/snapshots/${s1}/lineage`)).body as { ancestors: Node[]; nodes: Node[] };
  expect(orphan.ancestors).toEqual([expect.objectContaining({ kind: "instance", id: a, name: "lin-a", state: "Deleted" })]);
  expect(orphan.nodes[0]).toMatchObject({ id: s1, source_deleted: true, parent_id: a });
  expect(orphan.nodes.map((n) => n.id)).toEqual([s1, f, fs]);
  expect((await ok("GET", `/instances/lin-f/lineage`)).body.ancestors.map((n: Node) => n.state)).toEqual(["Deleted", "Standby"]);
});

test("bad lineage queries are 400 naming the field; unknown ids 404", async () => {
  await svc.createInstance("lin-q");
  for (const [query, field] of [
    ["max_depth=-1", "max_depth"],
    ["max_depth=33", "max_depth"],
    ["max_depth=x", "max_depth"],
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=1.5", "limit"],
  ]) {
    const res = await svc.call("GET", `/instances/lin-q/lineage?${query}`);
    expect(res.status, query).toBe(400);
    expect(res.body.message, query).toContain(field);
  }
  expect((await svc.call("GET", "/snapshots/nope/lineage")).status).toBe(404);
  expect((await svc.call("GET", "/instances/nope/lineage")).status).toBe(404);
});
