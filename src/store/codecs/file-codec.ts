// Streaming file -> file compression and decompression with a codec from the table. The input is read in
// CHUNK_BYTES pieces, never whole in memory, and the output is written to `dst` as it comes; the next read and
// the last write run while the current piece is encoded. Writing to a temp name, fsync and rename are the caller's job.
import { open, type FileHandle } from "node:fs/promises";
import { CODECS, codecLevel, type CodecName } from "./codec-table.ts";

/** Input piece size: one zstd frame / one LZ4 block each (the LZ4 frame's 4 MiB block maximum). */
export const CHUNK_BYTES = 4 << 20;

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
  return transformFile(src, dst, (chunks) => CODECS[options.algorithm].compress(chunks, level), options);
}

export function decompressFile(src: string, dst: string, options: FileCodecOptions): Promise<CodecResult> {
  return transformFile(src, dst, (chunks) => CODECS[options.algorithm].decompress(chunks), options);
}

async function transformFile(
  src: string,
  dst: string,
  transform: (chunks: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
  options: FileCodecOptions,
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
        writing = writeAll(output, piece);
        writing.catch(() => undefined); // surfaced by the next await, not as an unhandled rejection
        bytesOut += piece.length;
      }
      await writing;
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

async function writeAll(file: FileHandle, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) at += (await file.write(data, at, data.length - at)).bytesWritten;
}
