// Rebuilds a payload file from its chunks (a pull): each chunk is checked against the hash the manifest names
// before a byte of it is written, chunks of zeros are left as holes without being fetched (disks are sparse),
// and the whole file's hash is checked at the end. The caller writes into a staging dir, so a refused file is
// never visible.
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { sha256Hex } from "../payload/chunk-hash.ts";
import { BoundedPipeline } from "./bounded-pipeline.ts";

export interface ChunkedFile {
  path: string;
  size: number;
  sha256: string;
  chunks: string[];
}

/** A chunk whose bytes do not hash to the manifest's name for it: the remote copy is damaged. */
export class ChunkMismatchError extends Error {
  override readonly name = "ChunkMismatchError";
}

/** Chunk fetches in flight at once per file. */
const FETCH_WIDTH = 4;
/** Payload files hold guest memory and disks: private to the service user. */
const PAYLOAD_FILE_MODE = 0o600;

export interface AssembleOptions {
  chunkBytes: number;
  /** The stored bytes of a chunk expected to hold `length` bytes (a remote may return other bytes, or more). */
  fetchChunk: (sha256: string, length: number) => Promise<Uint8Array>;
  /** After each chunk is in place (written, or a hole), with its length. */
  onChunk: (bytes: number) => void;
  signal?: AbortSignal;
}

/** Writes `file` at `target` (a new file) from its chunks, verified as it goes. */
export async function assembleFile(target: string, file: ChunkedFile, options: AssembleOptions): Promise<void> {
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const handle = await open(target, "wx", PAYLOAD_FILE_MODE);
  try {
    await handle.truncate(file.size); // holes where zero chunks are not written
    const whole = new Bun.CryptoHasher("sha256");
    const zero = zeroChunks();
    const pipeline = new BoundedPipeline<{ index: number; bytes: Uint8Array | undefined }>(FETCH_WIDTH);
    const place = async (results: { index: number; bytes: Uint8Array | undefined }[]) => {
      for (const { index, bytes } of results) {
        const length = chunkLength(file.size, options.chunkBytes, index);
        if (bytes === undefined) {
          whole.update(zero(length).bytes);
        } else {
          whole.update(bytes);
          await writeAll(handle, bytes, index * options.chunkBytes);
        }
        options.onChunk(length);
      }
    };
    for (const [index, sha256] of file.chunks.entries()) {
      options.signal?.throwIfAborted();
      const length = chunkLength(file.size, options.chunkBytes, index);
      await place(await pipeline.push(async () => ({ index, bytes: sha256 === zero(length).sha256 ? undefined : await fetchVerified(sha256, length, file.path, index, options) })));
    }
    await place(await pipeline.drain());
    const got = whole.digest("hex");
    if (got !== file.sha256) throw new ChunkMismatchError(`${file.path}: its chunks hash to ${got}, the manifest says ${file.sha256}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fetchVerified(sha256: string, length: number, path: string, index: number, options: AssembleOptions): Promise<Uint8Array> {
  const bytes = await options.fetchChunk(sha256, length);
  const got = sha256Hex(bytes);
  if (got !== sha256 || bytes.length !== length) {
    throw new ChunkMismatchError(`chunk ${index} of ${path} (${sha256}) is damaged on the remote: ${bytes.length} bytes hashing to ${got}`);
  }
  return bytes;
}

function chunkLength(size: number, chunkBytes: number, index: number): number {
  return Math.min(chunkBytes, size - index * chunkBytes);
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, bytes: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/** Zeros of a length and their hash, made once per length seen (in practice a full chunk and a file's tail). */
function zeroChunks(): (length: number) => { bytes: Uint8Array; sha256: string } {
  const made = new Map<number, { bytes: Uint8Array; sha256: string }>();
  return (length) => {
    let entry = made.get(length);
    if (!entry) {
      const bytes = new Uint8Array(length);
      entry = { bytes, sha256: sha256Hex(bytes) };
      made.set(length, entry);
    }
    return entry;
  };
}
