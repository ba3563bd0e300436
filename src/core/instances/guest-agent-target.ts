// What every operation through the guest agent (exec, file copy) starts with: the instance must be Running with an
// agent channel. No instance lock is held while the operation runs: a long command must not block standby, stop or
// delete. Those end the VMM, which closes the agent connection and fails the operation with a 409 saying so.
import { AgentClosedError, AgentRefusedError, AgentUsageError, FileTooLargeError } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, inStep, invalidRequest, invalidState } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestDir, loadInstance, resolveInstance } from "./view.ts";

export interface AgentTarget {
  id: string;
  socket: string;
  env: Record<string, string>;
}

export async function agentTarget(ctx: CoreContext, ref: string, what: string): Promise<AgentTarget> {
  const { id } = resolveInstance(ctx, ref);
  const view = await loadInstance(ctx, id);
  if (view.state !== "Running") throw invalidState(`cannot ${what} in state ${view.state}: the instance must be Running`);
  if (view.skipGuestAgent) throw invalidState(`instance was created with skip_guest_agent: no guest agent to ${what} through`);
  const socket = agentSocketPath(hypervisorFor(ctx, view.hypervisor), guestDir(ctx, view.id));
  if (socket === undefined) throw invalidState(`hypervisor ${view.hypervisor} provides no guest-agent channel`);
  return { id: view.id, socket, env: view.env };
}

/** The agent's failures as domain errors: interrupted by a lifecycle operation, refused by the guest, too large. */
export function agentFailure(step: string, err: unknown): DomainError {
  if (err instanceof AgentClosedError) {
    return invalidState(`${step}: interrupted: the instance's VMM went away (standby, stop, delete or restore) before it ended`);
  }
  if (err instanceof FileTooLargeError) return invalidRequest(`${step}: ${err.message}`, "file_too_large");
  if (err instanceof AgentRefusedError || err instanceof AgentUsageError) return invalidRequest(`${step}: ${err.message}`);
  return inStep(step, err);
}
