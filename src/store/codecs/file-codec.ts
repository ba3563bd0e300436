// Streaming file -> file compression and decompression with a codec from the table. The input is read in
// CHUNK_BYTES pieces, never whole in memory, and the output is written to `dst` as it comes; the next read and
// the last write run while the current piece is encoded. Decompressed output is sparse: all-zero pages (most of
// an idle guest's RAM) become holes, as `zstd -d` and `lz4 -d` do, which saves the writes and the disk space.
// Writing to a temp name, fsync and rename are the caller's job.
import { writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { CODECS, codecLevel, type CodecName } from "./codec-table.ts";

/** Input piece size: one zstd frame / one LZ4 block each (the LZ4 frame's 4 MiB block maximum). */
export const CHUNK_BYTES = 4 << 20;
/** Granularity of the holes in decompressed output (the page size and the ext4 block size). */
export const HOLE_BYTES = 4096;
const ZERO_PAGE = new Uint8Array(HOLE_BYTES);

export interface CodecResult {
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

export interface FileCodecOptions {
  algorithm: CodecName;
  signal?: AbortSignal;
  /** Called after each input chunk is read: bytes of `src` read so far and its size. */
  onProgress?: (done: number, total: number) => void;
}

export function compressFile(src: string, dst: string, options: FileCodecOptions & { level?: number }): Promise<CodecResult> {
  const level = codecLevel(options.algorithm, options.level);
  return transformFile(src, dst, (chunks) => CODECS[options.algorithm].compress(chunks, level), options, false);
}

export function decompressFile(src: string, dst: string, options: FileCodecOptions): Promise<CodecResult> {
  return transformFile(src, dst, (chunks) => CODECS[options.algorithm].decompress(chunks), options, true);
}

async function transformFile(
  src: string,
  dst: string,
  transform: (chunks: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
  options: FileCodecOptions,
  sparse: boolean,
): Promise<CodecResult> {
  const started = performance.now();
  options.signal?.throwIfAborted();
  const input = await open(src, "r");
  try {
    const total = (await input.stat()).size;
    const output = await open(dst, "w");
    // One write in flight while the next piece is produced (the codec contract keeps that piece intact).
    let writing: Promise<void> = Promise.resolve();
    try {
      let bytesOut = 0;
      for await (const piece of transform(readChunks(input, total, options))) {
        await writing;
        writing = sparse ? writeSparse(output, piece, bytesOut) : writeAll(output, piece, bytesOut);
        writing.catch(() => undefined); // surfaced by the next await, not as an unhandled rejection
        bytesOut += piece.length;
      }
      await writing;
      if (sparse) await output.truncate(bytesOut); // a trailing hole still counts in the file's size
      return { bytesIn: total, bytesOut, ms: performance.now() - started };
    } finally {
      await writing.catch(() => undefined);
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** Yields the file's chunks from two alternating buffers, each valid until the next pull. */
async function* readChunks(file: FileHandle, total: number, options: FileCodecOptions): AsyncGenerator<Uint8Array> {
  const buffers = [new Uint8Array(CHUNK_BYTES), new Uint8Array(CHUNK_BYTES)] as const;
  let which = 0;
  let position = 0;
  let pending: Promise<{ bytesRead: number; buffer: Uint8Array }> | undefined = file.read(buffers[0], 0, CHUNK_BYTES, 0);
  try {
    for (;;) {
      const { bytesRead, buffer } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      position += bytesRead;
      options.onProgress?.(position, total);
      which ^= 1;
      pending = file.read(buffers[which]!, 0, CHUNK_BYTES, position);
      options.signal?.throwIfAborted();
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined); // never close the file under a read in flight
  }
}

async function writeAll(file: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let at = 0;
  while (at < data.length) at += (await file.write(data, at, data.length - at, position + at)).bytesWritten;
}

/**
 * Writes `data` at `position` but for its all-zero pages, which the fresh file leaves as holes. Synchronous
 * pwrites: memory alternates zero and data runs of a few pages, and an async call per run cost more than the
 * writes themselves. This runs in the codec Worker, where blocking delays only the codec.
 */
async function writeSparse(file: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let run = -1; // start of the pending run of non-zero pages
  for (let at = 0; at < data.length; at += HOLE_BYTES) {
    const page = data.subarray(at, at + HOLE_BYTES);
    const zero = page.length === HOLE_BYTES && Buffer.compare(page, ZERO_PAGE) === 0;
    if (!zero && run < 0) run = at;
    if (zero && run >= 0) {
      writeAllSync(file.fd, data.subarray(run, at), position + run);
      run = -1;
    }
  }
  if (run >= 0) writeAllSync(file.fd, data.subarray(run), position + run);
}

function writeAllSync(fd: number, data: Uint8Array, position: number): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at, position + at);
}
