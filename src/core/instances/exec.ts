// POST /instances/{id}/exec (buffered) and /exec/stream: a command run in the guest through its agent, with the
// instance's env. Many may run at once; none holds the instance lock (guest-agent-target.ts says why).
import { execInGuest, execStream, type ExecResult } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";
import { agentFailure, agentTarget } from "./guest-agent-target.ts";

export async function execInInstance(
  ctx: CoreContext,
  ref: string,
  command: string | string[],
  timeoutMs = ctx.config.execTimeoutMs,
): Promise<ExecResult> {
  const { id, socket, env } = await agentTarget(ctx, ref, "exec");
  const run = () => execInGuest(socket, command, { timeoutMs, env, outputLimitBytes: ctx.config.execOutputLimitBytes });
  return ctx.activity.during(id, "exec", run).catch((err: unknown) => {
    throw agentFailure("exec in guest", err);
  });
}

export interface StreamExecRequest {
  command: string | string[];
  timeoutMs?: number;
  stdin?: AsyncIterable<Uint8Array>;
  onOutput: (stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  signal?: AbortSignal;
}

/** Checks the instance first (errors before any output), then returns the running command's exit. */
export async function streamExecInInstance(ctx: CoreContext, ref: string, req: StreamExecRequest): Promise<() => Promise<number>> {
  const { id, socket, env } = await agentTarget(ctx, ref, "exec");
  return async () => {
    const end = ctx.activity.begin(id, "exec");
    try {
      const { exitCode } = await execStream(socket, req.command, { ...req, timeoutMs: req.timeoutMs ?? ctx.config.execTimeoutMs, env });
      return exitCode;
    } catch (err) {
      throw agentFailure("exec in guest", err);
    } finally {
      end();
    }
  };
}
