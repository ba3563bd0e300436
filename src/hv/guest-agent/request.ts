// One request on an agent connection, bounded in time: the connection (and its handshake) is awaited within the
// request's own deadline, an abort or the deadline sends KILL (the agent ends the command or removes a partial
// file), and the connection closing fails it. What the frames mean is left to the operation.
import { AgentClosedError, agentConnection, AgentRefusedError, GuestAgentError, type AgentConnection } from "./connection.ts";
import { Reply, Request, type Frame } from "./frames.ts";

export interface RequestLimits {
  /** performance.now() by which the request ends, answered or not. */
  deadline: number;
  timedOut: () => GuestAgentError;
  signal?: AbortSignal;
}

export interface OpenRequest {
  connection: AgentConnection;
  id: number;
  send(type: number, payload?: Uint8Array, flags?: number): void;
  /** Resolves with the frame that `accept` says ends a step; ERROR frames reject. */
  next(accept: (frame: Frame) => boolean): Promise<Frame>;
  /** Throws what failed the request, if anything has. */
  check(): void;
  end(): void;
  /** Ends the request in the guest too. */
  cancel(): void;
}

/**
 * Opens a request. Frames the operation does not wait for go to `onFrame` (streamed output); the ones a `next`
 * waits for resolve it.
 */
export async function openRequest(socketPath: string, limits: RequestLimits, onFrame: (frame: Frame) => void = () => {}): Promise<OpenRequest> {
  throwIfAborted(limits.signal);
  const connection = await withinLimits(agentConnection(socketPath, limits.deadline), limits);
  let waiter: { accept: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    waiter?.reject(failure);
    waiter = undefined;
  };
  const id = connection.open({
    frame: (frame) => {
      if (frame.type === Reply.error) return fail(new AgentRefusedError(`agent: ${frame.payload.toString("utf8").slice(0, 512)}`));
      if (waiter?.accept(frame)) {
        const w = waiter;
        waiter = undefined;
        return w.resolve(frame);
      }
      onFrame(frame);
    },
    closed: () => fail(new AgentClosedError(`agent connection at ${socketPath} closed (the VMM stopped or was replaced) before the request ended`)),
  });
  const cancel = () => {
    connection.send(Request.kill, id);
    end();
  };
  const timer = setTimeout(() => {
    fail(limits.timedOut());
    cancel();
  }, Math.max(0, limits.deadline - performance.now()));
  const onAbort = () => {
    fail(new GuestAgentError("guest agent request aborted", { cause: limits.signal?.reason }));
    cancel();
  };
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  const end = () => {
    clearTimeout(timer);
    limits.signal?.removeEventListener("abort", onAbort);
    connection.release(id);
  };
  return {
    connection,
    id,
    send: (type, payload, flags) => connection.send(type, id, payload, flags),
    next: (accept) =>
      failure ? Promise.reject(failure) : new Promise<Frame>((resolve, reject) => (waiter = { accept, resolve, reject })),
    check: () => {
      if (failure) throw failure;
    },
    end,
    cancel,
  };
}

function withinLimits<T>(work: Promise<T>, limits: RequestLimits): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(limits.timedOut()), Math.max(0, limits.deadline - performance.now()))));
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new GuestAgentError("guest agent request aborted", { cause: signal.reason });
}
