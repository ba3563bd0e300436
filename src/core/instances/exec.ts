// POST /instances/{id}/exec: runs a command in the guest through the guest agent, with the instance's env.
import { execInGuest, type ExecResult } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";
import { inStep, invalidState } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestDir, loadInstance, resolveInstance } from "./view.ts";

export async function execInInstance(
  ctx: CoreContext,
  ref: string,
  command: string | string[],
  timeoutMs = ctx.config.execTimeoutMs,
): Promise<ExecResult> {
  const { id } = resolveInstance(ctx, ref);
  // Serialized with standby/restore on the same instance: the agent channel does not survive a VMM swap mid-command.
  return ctx.locks.run(id, () => runInGuest(ctx, id, command, timeoutMs));
}

async function runInGuest(ctx: CoreContext, id: string, command: string | string[], timeoutMs: number): Promise<ExecResult> {
  const view = await loadInstance(ctx, id);
  if (view.state !== "Running") throw invalidState(`cannot exec in state ${view.state}: the instance must be Running`);
  if (view.skipGuestAgent) throw invalidState("instance was created with skip_guest_agent: no guest agent to exec through");
  const socket = agentSocketPath(hypervisorFor(ctx, view.hypervisor), guestDir(ctx, view.id));
  if (socket === undefined) throw invalidState(`hypervisor ${view.hypervisor} provides no guest-agent channel`);
  return execInGuest(socket, command, { timeoutMs, env: view.env }).catch((err: unknown) => {
    throw inStep("exec in guest", err);
  });
}
