import { expect, test } from "bun:test";
import type { Lineage } from "../client.ts";
import { renderLineage } from "./tree.ts";

const base = { created_at: null, ref_count: null, memory: null, vmm_memory: null, disk_bytes: null, source_deleted: false, children_cut: false };
const node = (kind: "instance" | "snapshot", id: string, parent_id: string | null, depth: number, extra: Partial<Lineage["nodes"][number]> = {}) => ({
  ...base,
  kind,
  id,
  name: id.toUpperCase(),
  state: kind === "instance" ? "Running" : "Standby",
  parent_id,
  depth,
  ...extra,
});

test("a lineage draws as a tree: branches, last children, memory sharing, deleted sources and cut depths", () => {
  const lineage: Lineage = {
    ancestors: [node("instance", "gone", null, 0, { state: "Deleted", name: null })],
    nodes: [
      node("snapshot", "s1", "gone", 0, { ref_count: 2, memory: { links: 3, shared_with: 2, allocated_bytes: 512 * 1024 ** 2 }, disk_bytes: 600 * 1024 ** 2, source_deleted: true }),
      node("instance", "f1", "s1", 1, { memory: { links: 3, shared_with: 2, allocated_bytes: 512 * 1024 ** 2 }, disk_bytes: 4096 }),
      node("snapshot", "f1s", "f1", 2, { ref_count: 0, children_cut: true }),
      node("instance", "f2", "s1", 1, { vmm_memory: { backing: "file", shared_with_snapshot: "s1", private_bytes: 40 * 1024 ** 2 } }),
    ],
  };
  expect(renderLineage(lineage)).toBe(
    [
      "from: instance - (gone) Deleted",
      "snapshot S1 (s1) Standby  [forks 2, memory 512 MiB shared with 2, disk 600 MiB, source deleted]",
      "├── instance F1 (f1) Running  [memory 512 MiB shared with 2, disk 4.0 KiB]",
      "│   └── snapshot F1S (f1s) Standby  [forks 0, more below --max-depth]",
      "└── instance F2 (f2) Running  [RAM file maps s1, VMM private 40 MiB]",
    ].join("\n"),
  );
});

test("a later page starts inside the tree: its first nodes are drawn as tops", () => {
  const lineage: Lineage = { ancestors: [], nodes: [node("instance", "f2", "s1", 1), node("snapshot", "x", "f2", 2, { memory: { links: 1, shared_with: 0, allocated_bytes: 1024 } })] };
  expect(renderLineage(lineage)).toBe(["instance F2 (f2) Running", "└── snapshot X (x) Standby  [memory 1.0 KiB private]"].join("\n"));
});
