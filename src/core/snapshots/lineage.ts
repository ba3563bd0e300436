// Lineage: the tree instance → its snapshots → the instances forked from each → their snapshots… in pre-order
// (children oldest first), bounded in depth and paged in node count, with the ancestors of the root above it.
// Each node tells how its memory is held (hard links shared with other payloads, or private) and its disk bytes.
// A parent that no longer exists (a snapshot outlives its source instance) is a "Deleted" node, never an error.
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { allocatedSize } from "../../store/file-sizes.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";
import { memoryFileForms } from "../../store/payload/memory-forms.ts";
import type { InstanceRow, SnapshotRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest } from "../errors.ts";
import { instanceState, resolveInstance } from "../instances/view.ts";
import { memoryView, type MemoryView } from "../instances/memory-view.ts";
import { isHypervisorType } from "../service/hypervisor-lookup.ts";
import { snapshotRow } from "./view.ts";

export const DEFAULT_LINEAGE_DEPTH = 8;
export const MAX_LINEAGE_DEPTH = 32;
export const DEFAULT_LINEAGE_NODES = 200;
export const MAX_LINEAGE_NODES = 1_000;

export interface MemoryHolding {
  /** Hard links to the stored memory file: 1 = private, n = shared with n − 1 other payloads. */
  links: number;
  /** Blocks the file occupies (counted once, however many links share it). */
  allocatedBytes: number;
}

export interface LineageNode {
  kind: "instance" | "snapshot";
  id: string;
  name: string | null;
  /** Instance state, snapshot kind (`Standby`/`Stopped`, `Error` if its payload is lost), or `Deleted`. */
  state: string;
  createdAt: Date | null;
  /** Snapshots: instances forked from it. */
  refCount: number | null;
  memory: MemoryHolding | null;
  /** A running instance's guest memory: file or stream backed, the snapshot it maps copy-on-write, private bytes. */
  vmmMemory: MemoryView | null;
  diskBytes: number | null;
  /** The node this one came from no longer exists. */
  sourceDeleted: boolean;
  parentId: string | null;
  depth: number;
  /** Children exist below the depth limit and are not listed. */
  childrenCut: boolean;
}

export interface Lineage {
  /** From the oldest known ancestor down to the root's parent. */
  ancestors: LineageNode[];
  /** Pre-order from the root (first page only) or from after the cursor's node. */
  nodes: LineageNode[];
  /** Id of the last node when more follow. */
  next?: string;
}

export interface LineageQuery {
  maxDepth: number;
  limit: number;
  /** Resume after this node id (a previous page's last). */
  after?: string;
}

type Ref = { kind: "instance"; id: string } | { kind: "snapshot"; id: string };

export async function instanceLineage(ctx: CoreContext, ref: string, q: LineageQuery): Promise<Lineage> {
  return lineage(ctx, { kind: "instance", id: resolveInstance(ctx, ref).id }, q);
}

export async function snapshotLineage(ctx: CoreContext, id: string, q: LineageQuery): Promise<Lineage> {
  return lineage(ctx, { kind: "snapshot", id: snapshotRow(ctx, id).id }, q);
}

async function lineage(ctx: CoreContext, root: Ref, q: LineageQuery): Promise<Lineage> {
  const ancestors = await Promise.all(ancestorRefs(ctx, root, q.maxDepth).map((r) => describe(ctx, r, null, 0, false)));
  const nodes: LineageNode[] = [];
  let skipping = q.after !== undefined;
  let more = false;
  // Iterative pre-order walk: a stack of [ref, parent, depth], children pushed newest first so the oldest pops first.
  const stack: [Ref, string | null, number][] = [[root, ancestors.at(-1)?.id ?? null, 0]];
  while (stack.length > 0) {
    const [ref, parentId, depth] = stack.pop()!;
    const kids = children(ctx, ref);
    const cut = depth >= q.maxDepth && kids.length > 0;
    if (!cut) for (const kid of kids.reverse()) stack.push([kid, ref.id, depth + 1]);
    if (skipping) {
      skipping = ref.id !== q.after;
      continue;
    }
    if (nodes.length === q.limit) {
      more = true;
      break;
    }
    nodes.push(await describe(ctx, ref, parentId, depth, cut));
  }
  if (skipping) throw invalidRequest("cursor: no longer a node of this lineage");
  return { ancestors, nodes, ...(more ? { next: nodes.at(-1)!.id } : {}) };
}

/** What came before `root`: the source instance of a snapshot, the snapshot an instance was forked from. */
function ancestorRefs(ctx: CoreContext, root: Ref, maxDepth: number): Ref[] {
  const refs: Ref[] = [];
  for (let at = parentOf(ctx, root); at && refs.length < maxDepth; at = parentOf(ctx, at)) refs.unshift(at);
  return refs;
}

function parentOf(ctx: CoreContext, ref: Ref): Ref | undefined {
  if (ref.kind === "snapshot") {
    const snap = ctx.snapshots.get(ref.id);
    return snap ? { kind: "instance", id: snap.sourceInstanceId } : undefined;
  }
  const from = ctx.snapshots.forkOf(ref.id);
  return from ? { kind: "snapshot", id: from } : undefined;
}

function children(ctx: CoreContext, ref: Ref): Ref[] {
  if (ref.kind === "instance") return ctx.snapshots.list({ sourceInstanceId: ref.id }).map((s) => ({ kind: "snapshot", id: s.id }));
  return ctx.snapshots.forksOf(ref.id).map((f) => ({ kind: "instance", id: f.instanceId }));
}

async function describe(ctx: CoreContext, ref: Ref, parentId: string | null, depth: number, childrenCut: boolean): Promise<LineageNode> {
  const place = { parentId, depth, childrenCut };
  if (ref.kind === "snapshot") {
    const snap = ctx.snapshots.get(ref.id);
    if (!snap || snap.rowState === "deleting") return deleted(ref, place);
    return { ...place, ...(await describeSnapshot(ctx, snap)) };
  }
  const row = ctx.instances.get(ref.id);
  if (!row || row.rowState === "deleting") return deleted(ref, place, ctx.snapshots.list({ sourceInstanceId: ref.id })[0]?.sourceInstanceName);
  return { ...place, ...(await describeInstance(ctx, row)) };
}

type Described = Omit<LineageNode, "parentId" | "depth" | "childrenCut">;

async function describeSnapshot(ctx: CoreContext, snap: SnapshotRow): Promise<Described> {
  const dir = ctx.paths.snapshotGuest(snap.id);
  return {
    kind: "snapshot",
    id: snap.id,
    name: snap.name,
    state: snap.rowState === "error" ? "Error" : snap.kind,
    createdAt: snap.createdAt,
    refCount: ctx.snapshots.refCounts([snap.id]).get(snap.id) ?? 0,
    memory: snap.kind === "Standby" ? await memoryHolding(ctx, join(dir, GUEST_FILES.standbyDir), snap.sourceHypervisor) : null,
    vmmMemory: null,
    diskBytes: snap.allocatedBytes,
    sourceDeleted: !ctx.instances.get(snap.sourceInstanceId),
  };
}

async function describeInstance(ctx: CoreContext, row: InstanceRow): Promise<Described> {
  const dir = ctx.paths.guest(row.id);
  const { state } = await instanceState(ctx, row);
  const from = ctx.snapshots.forkOf(row.id);
  return {
    kind: "instance",
    id: row.id,
    name: row.name,
    state,
    createdAt: row.createdAt,
    refCount: null,
    memory: state === "Standby" ? await memoryHolding(ctx, join(dir, GUEST_FILES.standbyDir), row.hypervisor) : null,
    vmmMemory: await memoryView(ctx, row),
    diskBytes: await allocatedSize(dir).catch(() => null),
    sourceDeleted: from !== undefined && !ctx.snapshots.get(from),
  };
}

function deleted(ref: Ref, place: Pick<LineageNode, "parentId" | "depth" | "childrenCut">, name?: string): LineageNode {
  return { ...place, ...ref, name: name ?? null, state: "Deleted", createdAt: null, refCount: null, memory: null, vmmMemory: null, diskBytes: null, sourceDeleted: false };
}

/** The stored memory file of a standby dir (raw or compressed), if this host has the hypervisor that named it. */
async function memoryHolding(ctx: CoreContext, standbyDir: string, hypervisor: string): Promise<MemoryHolding | null> {
  const hv = isHypervisorType(hypervisor) ? ctx.hypervisors[hypervisor] : undefined;
  if (!hv) return null;
  for (const name of memoryFileForms(hv.memoryFile)) {
    const file = join(standbyDir, name);
    const st = await lstat(file).catch(() => undefined);
    if (st?.isFile()) return { links: st.nlink, allocatedBytes: await allocatedSize(file) };
  }
  return null;
}
