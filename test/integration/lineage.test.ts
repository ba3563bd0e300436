// Lineage of real QEMU guests on file-backed memory: a Standby snapshot's memory file is hard-linked by the forks
// that map it copy-on-write while they run, and the lineage says so (links, the snapshot each fork's RAM maps).
import { expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootGuest, withGuestService } from "./guest.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

interface Node {
  id: string;
  kind: string;
  state: string;
  parent_id: string | null;
  memory: { links: number; shared_with: number; allocated_bytes: number } | null;
  vmm_memory: { backing: string; shared_with_snapshot: string | null; private_bytes: number | null } | null;
}

test("forks running from one snapshot share its memory file; the tree shows the links and what each fork maps", async () => {
  const { id } = await bootGuest(svc, "lin-src");
  const snap = await svc.call("POST", "/instances/lin-src/snapshots", { kind: "Standby", name: "base" });
  expect(snap.status).toBe(201);
  const forks: string[] = [];
  for (const name of ["lin-f1", "lin-f2"]) {
    const res = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name, target_state: "Running" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    forks.push(res.body.id);
  }
  const res = await svc.call("GET", "/instances/lin-src/lineage");
  expect(res.status).toBe(200);
  const nodes = res.body.nodes as Node[];
  expect(nodes.map((n) => [n.kind, n.id, n.parent_id])).toEqual([
    ["instance", id, null],
    ["snapshot", snap.body.id, id],
    ["instance", forks[0], snap.body.id],
    ["instance", forks[1], snap.body.id],
  ]);
  const [source, snapshot, ...running] = nodes;
  expect(source!.vmm_memory).toMatchObject({ backing: "file", shared_with_snapshot: null });
  // The snapshot's file is linked by each running fork's VMM besides the payload itself.
  expect(snapshot!.memory!.links).toBe(1 + running.length);
  expect(snapshot!.memory!.shared_with).toBe(running.length);
  for (const fork of running) {
    expect(fork.state).toBe("Running");
    expect(fork.vmm_memory).toMatchObject({ backing: "file", shared_with_snapshot: snap.body.id });
    expect(fork.vmm_memory!.private_bytes).toBeGreaterThan(0);
  }
});
