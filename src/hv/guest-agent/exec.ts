// exec and execStream: a command (a shell script, or an argv whose words are quoted so none is interpreted) run by
// the agent with its own timeout, many at once per guest. execStream hands output over as it arrives and can feed
// stdin; execInGuest captures it up to a limit per stream and says when it cut.
import { shellQuote } from "../shell-quote.ts";
import { AgentUsageError, GuestAgentError } from "./connection.ts";
import { EXEC_WITH_STDIN, MAX_FRAME_PAYLOAD, Reply, Request } from "./frames.ts";
import { openRequest } from "./request.ts";

/** Default limit for one command (enforced in the guest, which then reports TIMED_OUT_EXIT_CODE). */
export const EXEC_TIMEOUT_MS = 60_000;
/**
 * Extra wait beyond a command's own limit: the guest needs time to kill it and reply. Short, because a caller's
 * timeout_ms is a promise: a request is answered or failed within timeout_ms + this, the handshake included.
 */
export const REPLY_GRACE_MS = 2_000;
/** Exit code of a command the guest killed because it ran past its timeout (as coreutils `timeout`). */
export const TIMED_OUT_EXIT_CODE = 124;
/** Default cap on what execInGuest keeps of each of stdout and stderr. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Size of the stdin pieces sent to the guest. */
const STDIN_CHUNK_BYTES = 256 * 1024;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The stream was longer than the output limit: what is here is its beginning. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export interface ExecOptions {
  /** Limit for the command in the guest, rounded up to whole seconds. */
  timeoutMs?: number;
  /** Exported to the command. */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

export interface StreamExecOptions extends ExecOptions {
  onOutput: (stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  /** Fed to the command's stdin, then closed; without it the command reads /dev/null. */
  stdin?: AsyncIterable<Uint8Array>;
}

/** What `export NAME=…` accepts: a POSIX shell identifier. The API checks env names against this at create. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Runs a command, streaming its output to `onOutput`; resolves with its exit code (also when it is not 0). */
export async function execStream(socketPath: string, command: string | string[], options: StreamExecOptions): Promise<{ exitCode: number }> {
  const script = Buffer.from(buildScript(command, options.env ?? {}), "utf8");
  if (script.length > MAX_FRAME_PAYLOAD - 4) throw new AgentUsageError(`command is ${script.length} bytes, over the ${MAX_FRAME_PAYLOAD - 4} the agent takes`);
  const timeoutMs = options.timeoutMs ?? EXEC_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new AgentUsageError(`timeoutMs must be positive, got ${timeoutMs}`);
  const waitMs = timeoutMs + REPLY_GRACE_MS;
  const timedOut = () => new GuestAgentError(`command timed out: no reply from the agent at ${socketPath} within ${waitMs} ms`);
  const request = await openRequest(socketPath, { deadline: performance.now() + waitMs, timedOut, signal: options.signal }, (frame) => {
    if (frame.type === Reply.stdout) options.onOutput("stdout", frame.payload);
    if (frame.type === Reply.stderr) options.onOutput("stderr", frame.payload);
  });
  try {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(Math.ceil(timeoutMs / 1000));
    const exited = request.next((frame) => frame.type === Reply.exit);
    request.send(Request.exec, Buffer.concat([header, script]), options.stdin ? EXEC_WITH_STDIN : 0);
    if (options.stdin) void feedStdin(request, options.stdin);
    const exit = await exited;
    return { exitCode: Number(exit.payload.toString("latin1")) };
  } finally {
    request.end();
  }
}

async function feedStdin(request: Awaited<ReturnType<typeof openRequest>>, stdin: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stdin) {
      for (let at = 0; at < chunk.length; at += STDIN_CHUNK_BYTES) request.send(Request.data, chunk.subarray(at, at + STDIN_CHUNK_BYTES));
      await request.connection.drained();
    }
    request.send(Request.data);
  } catch {
    request.cancel(); // the caller's stdin failed: the command must not wait for the rest forever
  }
}

/**
 * Runs a command and returns its output, each stream kept up to `outputLimitBytes`. Throws GuestAgentError when
 * the agent cannot be reached or does not answer in time.
 */
export async function execInGuest(
  socketPath: string,
  command: string | string[],
  options: ExecOptions & { outputLimitBytes?: number } = {},
): Promise<ExecResult> {
  const limit = options.outputLimitBytes ?? MAX_OUTPUT_BYTES;
  const captured = { stdout: new OutputCapture(limit), stderr: new OutputCapture(limit) };
  const { exitCode } = await execStream(socketPath, command, { ...options, onOutput: (stream, bytes) => captured[stream].add(bytes) });
  return {
    exitCode,
    stdout: captured.stdout.text(),
    stderr: captured.stderr.text(),
    stdoutTruncated: captured.stdout.truncated,
    stderrTruncated: captured.stderr.truncated,
  };
}

/** Keeps the first `limit` bytes of a stream and remembers whether there were more. */
export class OutputCapture {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  add(bytes: Uint8Array): void {
    const room = this.limit - this.length;
    if (bytes.length > room) this.truncated = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length === 0) return;
    this.parts.push(kept);
    this.length += kept.length;
  }

  text(): string {
    return Buffer.concat(this.parts, this.length).toString("utf8");
  }
}

function buildScript(command: string | string[], env: Record<string, string>): string {
  if (Array.isArray(command) && command.length === 0) throw new AgentUsageError("command must not be empty");
  const exports = Object.entries(env).map(([name, value]) => {
    if (!ENV_NAME_PATTERN.test(name)) throw new AgentUsageError(`invalid environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shellQuote(value)}\n`;
  });
  const body = Array.isArray(command) ? command.map(shellQuote).join(" ") : command;
  return exports.join("") + body;
}
