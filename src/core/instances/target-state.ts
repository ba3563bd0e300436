// Target states and hypervisors of restore-snapshot and fork (reference §4.4, §4.6).
import type { Hypervisor } from "../../hv/hypervisor.ts";
import type { SnapshotRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest } from "../errors.ts";
import { hypervisorFor, isHypervisorType } from "../service/hypervisor-lookup.ts";

/** The states restore-snapshot and fork can leave an instance in; request schemas build their enum from it. */
export const TARGET_STATES = ["Stopped", "Standby", "Running"] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export function isTargetState(value: string): value is TargetState {
  return (TARGET_STATES as readonly string[]).includes(value);
}

const ALLOWED: Record<SnapshotRow["kind"], { default: TargetState; allowed: readonly TargetState[] }> = {
  // Memory and disk: any state.
  Standby: { default: "Running", allowed: TARGET_STATES },
  // Disk only: a cold boot, or nothing.
  Stopped: { default: "Stopped", allowed: ["Stopped", "Running"] },
};

export function resolveTargetState(kind: SnapshotRow["kind"], requested: string | undefined): TargetState {
  const rule = ALLOWED[kind];
  if (requested === undefined) return rule.default;
  if (!isTargetState(requested) || !rule.allowed.includes(requested)) {
    throw invalidRequest(`invalid target_state ${JSON.stringify(requested)} for snapshot kind ${kind}`);
  }
  return requested;
}

/** A Standby snapshot keeps its hypervisor (its memory is in that VMM's format); a Stopped one may switch. */
export function resolveTargetHypervisor(ctx: CoreContext, snapshot: SnapshotRow, requested: string | undefined): Hypervisor {
  if (requested === undefined) return hypervisorFor(ctx, snapshot.sourceHypervisor);
  if (snapshot.kind === "Standby") throw invalidRequest("target_hypervisor is only allowed for stopped snapshots");
  if (!isHypervisorType(requested) || !ctx.hypervisors[requested]) {
    throw invalidRequest(`unsupported target hypervisor ${JSON.stringify(requested)}`);
  }
  return hypervisorFor(ctx, requested);
}
