// Lineage as a tree for people: one line per node under box-drawing branches, children in the server's order.
import type { Lineage } from "../client.ts";
import { humanBytes } from "./table.ts";

type Node = Lineage["nodes"][number];

export function renderLineage(lineage: Lineage): string {
  const lines = lineage.ancestors.length > 0 ? [`from: ${lineage.ancestors.map(label).join("  →  ")}`] : [];
  const listed = new Set(lineage.nodes.map((n) => n.id));
  const children = Map.groupBy(lineage.nodes, (n) => (n.parent_id !== null && listed.has(n.parent_id) ? n.parent_id : ""));
  const walk = (node: Node, prefix: string, branch: string, last: boolean) => {
    lines.push(`${prefix}${branch}${label(node)}${details(node)}`);
    const kids = children.get(node.id) ?? [];
    const inner = branch === "" ? prefix : `${prefix}${last ? "    " : "│   "}`;
    kids.forEach((kid, i) => walk(kid, inner, i === kids.length - 1 ? "└── " : "├── ", i === kids.length - 1));
  };
  // Tops: the root on a first page, or the nodes a later page starts inside the tree with.
  for (const top of children.get("") ?? []) walk(top, "", "", true);
  return lines.join("\n");
}

function label(n: Node): string {
  return `${n.kind} ${n.name ?? "-"} (${n.id}) ${n.state}`;
}

function details(n: Node): string {
  const parts: string[] = [];
  if (n.ref_count !== null) parts.push(`forks ${n.ref_count}`);
  if (n.memory) {
    const size = humanBytes(n.memory.allocated_bytes);
    parts.push(n.memory.shared_with > 0 ? `memory ${size} shared with ${n.memory.shared_with}` : `memory ${size} private`);
  }
  if (n.vmm_memory) {
    const { backing, shared_with_snapshot: mapped, private_bytes: own } = n.vmm_memory;
    parts.push(mapped ? `RAM file maps ${mapped}` : `RAM ${backing === "file" ? "file" : "loaded"}, own`);
    if (own !== null) parts.push(`VMM private ${humanBytes(own)}`);
  }
  if (n.disk_bytes !== null) parts.push(`disk ${humanBytes(n.disk_bytes)}`);
  if (n.source_deleted) parts.push("source deleted");
  if (n.children_cut) parts.push("more below --max-depth");
  return parts.length > 0 ? `  [${parts.join(", ")}]` : "";
}
