// Finding instances and describing them with their derived state (reference §1.1): VMM alive → its own state;
// no VMM → Standby when standby files exist, else Stopped.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { VmState } from "../../hv/hypervisor.ts";
import { isSafeId } from "../../store/paths.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest, notFound } from "../errors.ts";
import type { InstanceState } from "./state-machine.ts";
import { networkView, type NetworkView } from "../network/network-view.ts";
import { memoryView, type MemoryView } from "./memory-view.ts";

export interface InstanceView extends Omit<InstanceRow, "rowState" | "stateError" | "network"> {
  state: InstanceState;
  stateError: string | null;
  hasSnapshot: boolean;
  forkOfSnapshot: string | null;
  network: NetworkView;
  /** How the guest's memory is held while a VMM runs; null otherwise. */
  memory: MemoryView | null;
}

/** Exact id, then exact name, then unique id prefix (reference §3). */
export function resolveInstance(ctx: CoreContext, ref: string): InstanceRow {
  const row = ctx.instances.get(ref) ?? ctx.instances.byName(ref);
  if (row && row.rowState !== "deleting") return row;
  if (isSafeId(ref)) {
    const ids = ctx.instances.idsWithPrefix(ref);
    if (ids.length > 1) throw invalidRequest(`instance reference ${JSON.stringify(ref)} is ambiguous`, "ambiguous_name");
    const hit = ids[0] === undefined ? undefined : ctx.instances.get(ids[0]);
    if (hit && hit.rowState !== "deleting") return hit;
  }
  throw notFound("instance not found");
}

export function guestDir(ctx: CoreContext, id: string): string {
  return ctx.paths.guest(id);
}

export function standbyDir(ctx: CoreContext, id: string): string {
  return join(ctx.paths.guest(id), GUEST_FILES.standbyDir);
}

/** Standby files present: a non-empty standby dir (reference `has_snapshot`). */
export function hasStandbyFiles(dir: string): boolean {
  try {
    return readdirSync(join(dir, GUEST_FILES.standbyDir)).length > 0;
  } catch {
    return false;
  }
}

const VM_STATES: Record<VmState, InstanceState> = {
  created: "Created",
  running: "Running",
  paused: "Paused",
  shutdown: "Shutdown",
};

export async function instanceState(ctx: CoreContext, row: InstanceRow): Promise<{ state: InstanceState; error: string | null }> {
  if (row.rowState === "error") return { state: "Unknown", error: row.stateError };
  const live = ctx.vms.get(row.id);
  if (live) {
    try {
      const state = VM_STATES[await live.vm.state()];
      return { state: state === "Running" && !live.ready ? "Initializing" : state, error: null };
    } catch (err) {
      return { state: "Unknown", error: err instanceof Error ? err.message : String(err) };
    }
  }
  // A VMM ended at start-up because its guest never answered leaves its reason here until the next ready start.
  return { state: hasStandbyFiles(guestDir(ctx, row.id)) ? "Standby" : "Stopped", error: row.stateError };
}

export async function describeInstance(ctx: CoreContext, row: InstanceRow): Promise<InstanceView> {
  const { state, error } = await instanceState(ctx, row);
  const { rowState: _rowState, stateError: _stateError, ...rest } = row;
  return {
    ...rest,
    state,
    stateError: error,
    hasSnapshot: hasStandbyFiles(guestDir(ctx, row.id)),
    forkOfSnapshot: ctx.snapshots.forkOf(row.id) ?? null,
    network: networkView(ctx, row),
    memory: await memoryView(ctx, row),
  };
}

/** Loads and describes by reference in one step (the common start of every operation). */
export async function loadInstance(ctx: CoreContext, ref: string): Promise<InstanceView> {
  return describeInstance(ctx, resolveInstance(ctx, ref));
}
