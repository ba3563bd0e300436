// What every operation through the guest agent (exec, file copy) starts with: the instance must be Running with an
// agent channel. No instance lock is held while the operation runs: a long command must not block standby, stop or
// delete. Those end the VMM, which closes the agent connection and fails the operation with a 409 saying so.
import { AgentClosedError, AgentRefusedError, AgentUsageError, FileTooLargeError } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, inStep, invalidRequest, invalidState } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestDir, loadInstance, resolveInstance } from "./view.ts";
import { hasLegacyAgent } from "./vm-config.ts";

const GUEST_IMAGE_TOO_OLD = "guest image too old: stop and start the instance to boot the current image";

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
  assertCurrentAgent(ctx, view.id, what);
  return { id: view.id, socket, env: view.env };
}

/** The VMM running `id` was restored from a standby payload of the first release (vm-config.ts AGENT_CHANNEL). */
export function runsLegacyAgent(ctx: CoreContext, id: string): boolean {
  const live = ctx.vms.get(id);
  return live !== undefined && hasLegacyAgent(live.vm.launched.config);
}

/** Its agent is not one this server can talk to: a 409 saying how to get a current one (nothing is lost). */
export function assertCurrentAgent(ctx: CoreContext, id: string, what: string): void {
  if (runsLegacyAgent(ctx, id)) throw invalidState(`cannot ${what}: ${GUEST_IMAGE_TOO_OLD}`, "guest_image_too_old");
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
