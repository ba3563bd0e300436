// SHA-256 of payload files, whole and per fixed-size chunk, read as a stream: one chunk in memory at a time and
// one await per chunk, so hashing a multi-GiB memory file never holds the file nor blocks the event loop for
// longer than one chunk's hash. Manifests (manifest.ts), verification and content-addressed chunk upload all read
// files through readChunks(), so every reader agrees on where chunks start and what they hash to.
import { open } from "node:fs/promises";

/** Manifests hash payload files in 4 MiB chunks (the unit a remote stores and a verify reports). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileChunk {
  index: number;
  offset: number;
  /** The chunk's bytes: a fresh buffer per chunk, safe to keep (e.g. while an upload of it is in flight). */
  bytes: Uint8Array;
  sha256: string;
}

export interface ChunkReadOptions {
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Awaited before each chunk is read: lets background hashing give way to more urgent work. */
  pace?: () => Promise<void>;
}

export type FileHandle = Awaited<ReturnType<typeof open>>;

/** The chunks of `path` in order; the last one may be shorter, an empty file has none. */
export async function* readChunks(path: string, options: ChunkReadOptions = {}): AsyncGenerator<FileChunk> {
  const handle = await open(path, "r");
  try {
    yield* readHandleChunks(handle, options);
  } finally {
    await handle.close();
  }
}

/** The chunks of an open file (kept open by the caller: a file unlinked meanwhile is still read whole). */
export async function* readHandleChunks(handle: FileHandle, options: ChunkReadOptions = {}): AsyncGenerator<FileChunk> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  for (let index = 0, offset = 0; ; index++) {
    await options.pace?.();
    options.signal?.throwIfAborted();
    const bytes = new Uint8Array(chunkBytes);
    const read = await readFull(handle, bytes, offset);
    if (read === 0) return;
    const chunk = read === chunkBytes ? bytes : bytes.subarray(0, read);
    yield { index, offset, bytes: chunk, sha256: sha256Hex(chunk) };
    offset += read;
    if (read < chunkBytes) return;
  }
}

export interface FileHash {
  size: number;
  sha256: string;
  /** SHA-256 of each chunk, in file order. */
  chunks: string[];
}

export interface HashOptions extends ChunkReadOptions {
  /** Bytes hashed so far in this file, after each chunk. */
  onProgress?: (bytesDone: number) => void;
}

/** Whole-file and per-chunk SHA-256 of `path` in one pass. */
export async function hashFile(path: string, options: HashOptions = {}): Promise<FileHash> {
  const whole = new Bun.CryptoHasher("sha256");
  const chunks: string[] = [];
  let size = 0;
  for await (const chunk of readChunks(path, options)) {
    whole.update(chunk.bytes);
    chunks.push(chunk.sha256);
    size += chunk.bytes.length;
    options.onProgress?.(size);
  }
  return { size, sha256: whole.digest("hex"), chunks };
}

export function sha256Hex(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** Fills `buffer` from `position` until it is full or the file ends; returns the bytes read. */
async function readFull(handle: FileHandle, buffer: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
