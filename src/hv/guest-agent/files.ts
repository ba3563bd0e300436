// File copy through the agent. Writes stream DATA frames into a temp file beside the target that the agent renames
// into place only when everything arrived (a failed copy leaves nothing); reads pull one chunk per request, so the
// host asks for the next piece only when it has passed the last one on: flow control without buffering.
import { AgentUsageError, GuestAgentError } from "./connection.ts";
import { MAX_FRAME_PAYLOAD, Reply, Request } from "./frames.ts";
import { openRequest, type RequestLimits } from "./request.ts";

/** What one DATA or CHUNK frame carries. */
export const FILE_CHUNK_BYTES = 256 * 1024;
/** Longest guest path accepted (Linux PATH_MAX). */
export const MAX_GUEST_PATH_BYTES = 4096;

/** A file over the copy's size limit. */
export class FileTooLargeError extends GuestAgentError {}

export interface FileCopyOptions {
  /** Larger files fail the copy. */
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Copies `source` to `path` in the guest (created with `mode`, replacing what was there). Returns the size. */
export async function writeFileInGuest(
  socketPath: string,
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: FileCopyOptions & { mode?: number },
): Promise<number> {
  const request = await openRequest(socketPath, limitsFor(socketPath, path, options));
  let written = 0;
  try {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(options.mode ?? 0o644);
    const opened = request.next((f) => f.type === Reply.ok);
    request.send(Request.write, Buffer.concat([header, encodePath(path)]));
    await opened;
    for await (const chunk of source) {
      written += chunk.length;
      if (written > options.maxBytes) throw new FileTooLargeError(`file is larger than the ${options.maxBytes}-byte limit`);
      for (let at = 0; at < chunk.length; at += FILE_CHUNK_BYTES) request.send(Request.data, chunk.subarray(at, at + FILE_CHUNK_BYTES));
      await request.connection.drained();
      request.check(); // the guest may have failed the write already (disk full): stop sending
    }
    const committed = request.next((f) => f.type === Reply.ok);
    request.send(Request.data);
    await committed;
    request.end();
    return written;
  } catch (err) {
    request.cancel();
    throw err;
  }
}

/** Opens `path` in the guest for reading: its size now, and its bytes as they are pulled. */
export async function readFileFromGuest(
  socketPath: string,
  path: string,
  options: FileCopyOptions,
): Promise<{ size: number; chunks: AsyncGenerator<Uint8Array> }> {
  const limits = limitsFor(socketPath, path, options);
  const first = await readChunk(socketPath, path, 0, limits);
  if (first.size > options.maxBytes) throw new FileTooLargeError(`${path} is ${first.size} bytes, over the ${options.maxBytes}-byte limit`);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let chunk = first;
    let offset = 0;
    // Stops at the size first seen: a file growing while it is read is not followed.
    while (chunk.bytes.length > 0 && offset < first.size) {
      const bytes = chunk.bytes.subarray(0, first.size - offset);
      offset += bytes.length;
      yield bytes;
      if (offset < first.size) chunk = await readChunk(socketPath, path, offset, limits);
    }
  }
  return { size: first.size, chunks: chunks() };
}

async function readChunk(socketPath: string, path: string, offset: number, limits: RequestLimits): Promise<{ size: number; bytes: Buffer }> {
  const request = await openRequest(socketPath, limits);
  try {
    const header = Buffer.alloc(12);
    header.writeBigUInt64LE(BigInt(offset));
    header.writeUInt32LE(FILE_CHUNK_BYTES, 8);
    const reply = request.next((f) => f.type === Reply.chunk);
    request.send(Request.read, Buffer.concat([header, encodePath(path)]));
    const { payload } = await reply;
    if (payload.length < 8) throw new GuestAgentError("agent sent a malformed file chunk");
    return { size: Number(payload.readBigUInt64LE(0)), bytes: payload.subarray(8) };
  } finally {
    request.end();
  }
}

function limitsFor(socketPath: string, path: string, options: FileCopyOptions): RequestLimits {
  const timedOut = () => new GuestAgentError(`copy of ${path} through the agent at ${socketPath} did not finish within ${options.timeoutMs} ms`);
  return { deadline: performance.now() + options.timeoutMs, timedOut, signal: options.signal };
}

/** Paths are checked at the API boundary; this guards every other caller. */
function encodePath(path: string): Buffer {
  const bytes = Buffer.from(path, "utf8");
  if (!path.startsWith("/") || path.includes("\0") || bytes.length > MAX_GUEST_PATH_BYTES || bytes.length > MAX_FRAME_PAYLOAD - 12) {
    throw new AgentUsageError(`guest path must be absolute, without NUL, at most ${MAX_GUEST_PATH_BYTES} bytes`);
  }
  return bytes;
}
