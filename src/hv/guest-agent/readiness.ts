// The readiness gate's view of the agent: its socket appears when the VMM starts, its agent answers once the
// guest has booted, so both are retried until the deadline.
import { agentConnection } from "./connection.ts";
import { throwIfAborted } from "./request.ts";

/** How long waitForAgent keeps trying by default. */
export const AGENT_READY_TIMEOUT_MS = 30_000;

/** Resolves once the agent behind `socketPath` has answered the handshake. */
export async function waitForAgent(socketPath: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  throwIfAborted(options.signal);
  await agentConnection(socketPath, performance.now() + (options.timeoutMs ?? AGENT_READY_TIMEOUT_MS), true);
}
