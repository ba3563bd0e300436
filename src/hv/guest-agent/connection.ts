// One connection per agent socket, shared by every request of this process: QEMU's socket chardev serves one
// client at a time, so requests are multiplexed over it by request id instead of queueing for it. A connection
// starts with HELLO, which the agent answers with its protocol version (and which ends whatever an earlier host
// session left running in the guest); it lasts until the VMM closes the socket (stop, standby, a restore's new
// VMM), which fails the requests still open on it. Module state on purpose: the channel is a process-wide resource.
import { WriteQueue } from "../write-queue.ts";
import { encodeFrame, FrameReader, PROTOCOL_VERSION, Reply, Request, type Frame } from "./frames.ts";

/** How often the handshake re-sends HELLO: what is sent before the guest opened its port may be lost. */
export const HANDSHAKE_INTERVAL_MS = 200;
/** Pause between connection attempts while the socket is missing or refused. */
export const CONNECT_RETRY_MS = 100;
/** What a producer lets queue on the socket before it waits for the guest to take it. */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export class GuestAgentError extends Error {
  override readonly name = "GuestAgentError";
}

/** The connection ended (the VMM stopped, entered standby or was replaced) before the request did. */
export class AgentClosedError extends GuestAgentError {}

/** The caller asked for something the protocol cannot carry (a command over a frame, an empty argv, a bad name). */
export class AgentUsageError extends GuestAgentError {}

/** The agent refused or failed the request (a path that does not exist, a full disk): its message says why. */
export class AgentRefusedError extends GuestAgentError {}

export const TOO_OLD = "guest image too old: rebuild with scripts/build-guest";

/** Receives the frames of one request, and the end of the connection if it comes first. */
export interface RequestHandler {
  frame(frame: Frame): void;
  closed(): void;
}

export class AgentConnection {
  private readonly requests = new Map<number, RequestHandler>();
  private readonly outbound: WriteQueue;
  private readonly reader = new FrameReader((frame) => this.dispatch(frame));
  private nextId = 1;
  private onHello?: (text: string) => void;
  closed = false;

  private constructor(
    readonly socketPath: string,
    private readonly socket: Bun.Socket<undefined>,
  ) {
    this.outbound = new WriteQueue((bytes) => this.socket.write(bytes));
  }

  static async connect(socketPath: string, onClose: (c: AgentConnection) => void): Promise<AgentConnection> {
    let connection: AgentConnection | undefined;
    const socket = await Bun.connect({
      unix: socketPath,
      socket: {
        data: (_socket, chunk) => connection?.reader.push(chunk),
        drain: () => connection?.outbound.flush(),
        close: () => connection?.markClosed(onClose),
        error: () => connection?.markClosed(onClose),
        connectError: () => undefined, // the rejected promise carries the error
      },
    });
    connection = new AgentConnection(socketPath, socket);
    return connection;
  }

  /** Registers a request; its frames go to `handler` until `release`. */
  open(handler: RequestHandler): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    this.requests.set(id, handler);
    if (this.closed) queueMicrotask(() => handler.closed());
    return id;
  }

  release(id: number): void {
    this.requests.delete(id);
  }

  send(type: number, id: number, payload?: Uint8Array, flags = 0): void {
    if (!this.closed) this.outbound.push(encodeFrame(type, id, payload, flags));
  }

  /** Resolves once the socket has taken all but MAX_QUEUED_BYTES of what was sent. */
  drained(): Promise<void> {
    return this.outbound.below(MAX_QUEUED_BYTES);
  }

  /** Sends HELLO every HANDSHAKE_INTERVAL_MS until the agent answers; checks the protocol version. */
  async handshake(deadline: number): Promise<void> {
    let resend: ReturnType<typeof setInterval> | undefined;
    let expiry: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<string | undefined>((resolve) => {
      this.onHello = resolve;
      const hello = () => this.send(Request.hello, 0);
      hello();
      resend = setInterval(hello, HANDSHAKE_INTERVAL_MS);
      expiry = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
    }).finally(() => {
      clearInterval(resend);
      clearTimeout(expiry);
    });
    const text = await answer;
    this.onHello = undefined;
    if (this.closed) throw new GuestAgentError(`agent connection at ${this.socketPath} closed during the handshake`);
    if (text === undefined) {
      throw new GuestAgentError(
        `no agent answered the protocol ${PROTOCOL_VERSION} hello at ${this.socketPath} (still booting, or ${TOO_OLD})`,
      );
    }
    const version = /^snapvisor-agent (\d+)$/.exec(text)?.[1];
    if (Number(version) !== PROTOCOL_VERSION) {
      throw new GuestAgentError(`the guest agent speaks protocol ${JSON.stringify(text.slice(0, 64))}, not ${PROTOCOL_VERSION}: ${TOO_OLD}`);
    }
  }

  close(): void {
    this.socket.end();
  }

  /** Bytes the guest sent that were not frames (what a flooding or broken guest costs). */
  get noiseBytes(): number {
    return this.reader.noiseBytes;
  }

  private dispatch(frame: Frame): void {
    if (frame.type === Reply.hello) return this.onHello?.(frame.payload.toString("latin1").slice(0, 256));
    // Frames of requests this connection does not know (ended, or from another host session) are dropped.
    this.requests.get(frame.id)?.frame(frame);
  }

  private markClosed(onClose: (c: AgentConnection) => void): void {
    if (this.closed) return;
    this.closed = true;
    this.outbound.clear();
    this.onHello?.("");
    onClose(this);
    const open = [...this.requests.values()];
    this.requests.clear();
    for (const handler of open) handler.closed();
  }
}

const connections = new Map<string, Promise<AgentConnection>>();

/**
 * The open connection to `socketPath`, made (and handshaken) when there is none. With `retry`, a missing or
 * refused socket and a VMM that closes the connection are retried until `deadline` (readiness after a boot).
 */
export async function agentConnection(socketPath: string, deadline: number, retry = false): Promise<AgentConnection> {
  const existing = await connections.get(socketPath)?.catch(() => undefined);
  if (existing && !existing.closed) return existing;
  const made = establish(socketPath, deadline, retry);
  connections.set(socketPath, made);
  made.catch(() => {
    if (connections.get(socketPath) === made) connections.delete(socketPath);
  });
  return made;
}

async function establish(socketPath: string, deadline: number, retry: boolean): Promise<AgentConnection> {
  let lastError = "";
  do {
    let connection: AgentConnection;
    try {
      connection = await AgentConnection.connect(socketPath, (closed) => {
        void connections.get(socketPath)?.then((c) => c === closed && connections.delete(socketPath), () => undefined);
      });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      if (retry) await Bun.sleep(Math.max(0, Math.min(CONNECT_RETRY_MS, deadline - performance.now())));
      continue;
    }
    try {
      await connection.handshake(deadline);
      return connection;
    } catch (err) {
      const closedByVmm = connection.closed;
      connection.close();
      if (!closedByVmm) throw err; // answered wrongly, or the time is up
      lastError = err instanceof Error ? err.message : String(err);
    }
  } while (retry && performance.now() < deadline);
  throw new GuestAgentError(`agent not reachable at ${socketPath}${lastError ? `: ${lastError}` : ""}`);
}
