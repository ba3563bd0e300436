// The instance state machine (reference §1). States are derived from the VMM and the standby files, never
// trusted from a column alone; this table says which single-hop transitions exist, and assertTransition() is
// the only state check operations make.
import { invalidState } from "../errors.ts";

export const INSTANCE_STATES = [
  "Created",
  "Initializing",
  "Running",
  "Paused",
  "Shutdown",
  "Stopped",
  "Standby",
  "Unknown",
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  // VMM spawned, guest not started yet: it boots, or the VMM is shut down.
  Created: ["Initializing", "Running", "Shutdown"],
  // Booting until the guest agent answers: it becomes Running, or is stopped/paused for standby mid-boot.
  Initializing: ["Running", "Paused", "Shutdown", "Stopped"],
  // Pause (for standby and snapshots), or stop.
  Running: ["Paused", "Shutdown", "Stopped"],
  // Resume, stop, or snapshot + end the VMM (Standby).
  Paused: ["Running", "Shutdown", "Standby", "Stopped"],
  // Guest powered off but the VMM lingers: boot again or end the VMM.
  Shutdown: ["Running", "Stopped"],
  // Cold boot.
  Stopped: ["Created"],
  // Start a VMM from the standby files (restore), or drop them.
  Standby: ["Paused", "Stopped"],
  // Only delete leaves Unknown.
  Unknown: [],
};

export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws the 409 every operation reports for a state it cannot act on. */
export function assertTransition(from: InstanceState, to: InstanceState, operation: string): void {
  if (!canTransition(from, to)) throw invalidState(`cannot ${operation} from state ${from}`);
}

/** Running or on its way there: what "the VM is live" means for restore-snapshot and fork checks. */
export function isLive(state: InstanceState): boolean {
  return state === "Running" || state === "Initializing";
}
