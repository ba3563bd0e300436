// Host side of the guest-agent channel: a line protocol over a Unix socket whose other end is a serial port in the
// guest (QEMU: `-chardev socket,id=agent,path=…/agent.sock,server=on,wait=off -serial chardev:agent` → ttyS1),
// served by scripts/guest/agent:
//
//   host -> guest  SVX <reqid> <timeout_s> <base64 script>\n        (timeout_s 0 = no limit)
//   guest -> host  SVR <reqid> <exit_code> <base64 stdout> <base64 stderr>\n   ("-" for an empty field)
//
// The guest runs the script with `sh`; a command killed by its timeout reports TIMED_OUT_EXIT_CODE. Lines that do
// not start with `SVR ` (echo before the guest set raw mode, noise) and replies to other request ids (left over
// from an abandoned request or an earlier connection) are ignored. We connect per request: after a snapshot
// restore a new VMM serves a new socket while the guest loop continues, so no connection outlives a request.
// The guest is untrusted: its lines are split in time linear in the bytes, and one longer than
// MAX_REPLY_LINE_BYTES fails the request instead of growing in memory.
import { LineReader } from "./line-reader.ts";
import { shellQuote } from "./shell-quote.ts";
import { WriteQueue } from "./write-queue.ts";

/** How long waitForAgent keeps trying by default. */
export const AGENT_READY_TIMEOUT_MS = 30_000;
/** Default limit for one command (enforced in the guest, which then reports TIMED_OUT_EXIT_CODE). */
export const EXEC_TIMEOUT_MS = 60_000;
/**
 * Extra wait beyond a command's own limit: the guest needs time to kill it, encode its output and reply. Short,
 * because a caller's timeout_ms is a promise: a request is answered or failed within timeout_ms + this, time
 * spent waiting for the channel included.
 */
export const REPLY_GRACE_MS = 2_000;
/** How often the readiness handshake re-sends its no-op: requests sent before the guest opened the port are lost. */
export const HANDSHAKE_INTERVAL_MS = 200;
/** Pause between connection attempts while the socket is missing or refused. */
export const CONNECT_RETRY_MS = 100;
/** Exit code of a command the guest killed because it ran past its timeout (as coreutils `timeout`). */
export const TIMED_OUT_EXIT_CODE = 124;
/**
 * Longest line accepted from the agent: one reply line carries the whole stdout and stderr in base64 (4/3 of their
 * size), so this caps what one exec returns at about 12 MiB. A longer line fails the request instead of growing.
 */
export const MAX_REPLY_LINE_BYTES = 16 * 1024 * 1024;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Limit for the command in the guest, rounded up to whole seconds. */
  timeoutMs?: number;
  /** Exported to the command. */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

export class GuestAgentError extends Error {
  override readonly name = "GuestAgentError";
}

/**
 * Runs a command in the guest. A string is a shell script; an array is one command whose words are quoted, so
 * no argument is ever interpreted by the shell. Resolves with the exit code even when it is not 0; throws
 * GuestAgentError when the agent cannot be reached or does not answer in time.
 */
export async function execInGuest(
  socketPath: string,
  command: string | string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const script = buildScript(command, options.env ?? {});
  const timeoutMs = options.timeoutMs ?? EXEC_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new GuestAgentError(`timeoutMs must be positive, got ${timeoutMs}`);
  const waitMs = timeoutMs + REPLY_GRACE_MS;
  const timedOut = () => new GuestAgentError(`command timed out: no reply from the agent at ${socketPath} within ${waitMs} ms`);
  const deadline = performance.now() + waitMs;
  const result = serialized(socketPath, () => runCommand(socketPath, script, timeoutMs, { deadline, timedOut }, options.signal));
  // Also while queued behind another request: a caller never waits past its own limit.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut()), waitMs)));
  result.catch(() => undefined);
  return Promise.race([result, expired]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once the agent behind `socketPath` answers: connects (retrying while the socket is missing or
 * refused) and sends a no-op request every HANDSHAKE_INTERVAL_MS until one of them is answered.
 */
export function waitForAgent(
  socketPath: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  return serialized(socketPath, () => handshake(socketPath, options.timeoutMs ?? AGENT_READY_TIMEOUT_MS, options.signal));
}

async function runCommand(
  socketPath: string,
  script: string,
  timeoutMs: number,
  limit: { deadline: number; timedOut: () => GuestAgentError },
  signal?: AbortSignal,
): Promise<ExecResult> {
  throwIfAborted(signal);
  if (performance.now() >= limit.deadline) throw limit.timedOut(); // expired in the queue: never sent
  let channel: AgentChannel;
  try {
    channel = await AgentChannel.open(socketPath);
  } catch (err) {
    throw new GuestAgentError(`agent not reachable at ${socketPath}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const id = newRequestId();
    channel.send(requestLine(id, Math.ceil(timeoutMs / 1000), script));
    const outcome = await channel.nextReply((replyId) => replyId === id, limit.deadline - performance.now(), signal);
    if (outcome.kind === "closed") throw new GuestAgentError(`agent connection at ${socketPath} closed before the reply`);
    if (outcome.kind === "timeout") throw limit.timedOut();
    if (outcome.kind === "oversized") throw new GuestAgentError(oversizedMessage(socketPath));
    return outcome.reply;
  } finally {
    channel.close();
  }
}

async function handshake(socketPath: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError = "";
  for (let remaining = timeoutMs; remaining > 0; remaining = deadline - performance.now()) {
    throwIfAborted(signal);
    let channel: AgentChannel;
    try {
      channel = await AgentChannel.open(socketPath);
    } catch (err) {
      lastError = errorMessage(err);
      await Bun.sleep(Math.min(CONNECT_RETRY_MS, remaining));
      continue;
    }
    const sent = new Set<string>();
    const probe = () => {
      const id = newRequestId();
      sent.add(id);
      channel.send(requestLine(id, 0, "true"));
    };
    probe();
    const timer = setInterval(probe, HANDSHAKE_INTERVAL_MS);
    try {
      const outcome = await channel.nextReply((id) => sent.has(id), deadline - performance.now(), signal);
      if (outcome.kind === "reply") {
        if (outcome.reply.exitCode === 0) return;
        throw new GuestAgentError(`agent at ${socketPath} answered the no-op with exit code ${outcome.reply.exitCode}`);
      }
      if (outcome.kind === "closed") lastError = "connection closed by the VMM";
      if (outcome.kind === "oversized") lastError = oversizedMessage(socketPath);
    } finally {
      clearInterval(timer);
      channel.close();
    }
  }
  throw new GuestAgentError(`agent not reachable at ${socketPath} after ${timeoutMs} ms${lastError ? ` (${lastError})` : ""}`);
}

// One request at a time per channel: the guest serves requests in order and QEMU's chardev takes one client, so
// callers of this process queue per socket path. Module state on purpose: the channel is a process-wide resource.
const channelQueues = new Map<string, Promise<void>>();

function serialized<T>(socketPath: string, run: () => Promise<T>): Promise<T> {
  const previous = channelQueues.get(socketPath) ?? Promise.resolve();
  const result = previous.then(run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  channelQueues.set(socketPath, tail);
  void tail.then(() => {
    if (channelQueues.get(socketPath) === tail) channelQueues.delete(socketPath);
  });
  return result;
}

type ReplyOutcome = { kind: "reply"; reply: ExecResult } | { kind: "closed" } | { kind: "timeout" } | { kind: "oversized" };

function oversizedMessage(socketPath: string): string {
  return `the agent at ${socketPath} sent a line longer than ${MAX_REPLY_LINE_BYTES} bytes: output too large to return`;
}

/** One connection to an agent socket: writes request lines (with backpressure) and parses reply lines. */
class AgentChannel {
  private readonly lines = new LineReader(MAX_REPLY_LINE_BYTES, (line) => this.receiveLine(line), () => this.onOversized?.());
  private readonly outbound: WriteQueue;
  private closed = false;
  private onReply?: (id: string, reply: ExecResult) => void;
  private onClose?: () => void;
  private onOversized?: () => void;

  private constructor(private socket: Bun.Socket<undefined>) {
    this.outbound = new WriteQueue((bytes) => this.socket.write(bytes));
  }

  static async open(socketPath: string): Promise<AgentChannel> {
    let channel: AgentChannel | undefined;
    const socket = await Bun.connect({
      unix: socketPath,
      socket: {
        data: (_socket, chunk) => channel?.lines.push(chunk),
        drain: () => channel?.outbound.flush(),
        close: () => channel?.markClosed(),
        error: () => channel?.markClosed(),
        connectError: () => undefined, // the rejected promise carries the error
      },
    });
    channel = new AgentChannel(socket);
    return channel;
  }

  send(line: string): void {
    if (!this.closed) this.outbound.push(new TextEncoder().encode(line));
  }

  /** Waits for the first reply whose id passes `accept`; ignores every other line. */
  nextReply(accept: (id: string) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<ReplyOutcome> {
    return new Promise((resolve, reject) => {
      const detach = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.onReply = this.onClose = this.onOversized = undefined;
      };
      const finish = (outcome: ReplyOutcome) => {
        detach();
        resolve(outcome);
      };
      const onAbort = () => {
        detach();
        reject(new GuestAgentError("guest agent request aborted", { cause: signal?.reason }));
      };
      const timer = setTimeout(() => finish({ kind: "timeout" }), Math.max(0, timeoutMs));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.onReply = (id, reply) => {
        if (accept(id)) finish({ kind: "reply", reply });
      };
      this.onClose = () => finish({ kind: "closed" });
      this.onOversized = () => finish({ kind: "oversized" });
      if (this.closed) finish({ kind: "closed" });
    });
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }

  private receiveLine(line: string): void {
    const parsed = parseReply(line.replace(/\r$/, ""));
    if (parsed) this.onReply?.(parsed.id, parsed.reply);
  }

  private markClosed(): void {
    this.closed = true;
    this.outbound.clear();
    this.onClose?.();
  }
}

function parseReply(line: string): { id: string; reply: ExecResult } | undefined {
  if (!line.startsWith("SVR ")) return undefined;
  const fields = line.split(" ");
  const [, id, code, stdout, stderr] = fields;
  if (fields.length !== 5 || !id || !code || !/^\d+$/.test(code) || stdout === undefined || stderr === undefined) {
    return undefined;
  }
  return { id, reply: { exitCode: Number(code), stdout: decodeField(stdout), stderr: decodeField(stderr) } };
}

function decodeField(field: string): string {
  return field === "-" ? "" : Buffer.from(field, "base64").toString("utf8");
}

function requestLine(id: string, timeoutSeconds: number, script: string): string {
  // The leading newline ends any partial line left in the guest's tty by an earlier, interrupted writer.
  return `\nSVX ${id} ${timeoutSeconds} ${Buffer.from(script, "utf8").toString("base64")}\n`;
}

function newRequestId(): string {
  // Unique across server processes too, so a stale reply from before a restart never matches.
  return crypto.randomUUID().replaceAll("-", "");
}

/** What `export NAME=…` accepts: a POSIX shell identifier. The API checks env names against this at create. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function buildScript(command: string | string[], env: Record<string, string>): string {
  if (Array.isArray(command) && command.length === 0) throw new GuestAgentError("command must not be empty");
  const exports = Object.entries(env).map(([name, value]) => {
    if (!ENV_NAME_PATTERN.test(name)) throw new GuestAgentError(`invalid environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shellQuote(value)}\n`;
  });
  const body = Array.isArray(command) ? command.map(shellQuote).join(" ") : command;
  return exports.join("") + body;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new GuestAgentError("guest agent request aborted", { cause: signal.reason });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
