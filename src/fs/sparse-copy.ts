// Copies one file keeping its holes: only the data extents found with SEEK_DATA/SEEK_HOLE are copied, so a
// 1 GiB disk or memory file holding 16 MiB of data costs 16 MiB of writes and 16 MiB on disk (node's copyFile
// fills every hole, bun-runtime-notes.md §8). Where the filesystem cannot report holes the copy fails: a silent
// dense copy of a guest's memory would fill the disk (reference-behaviour.md §2.4).
import {
  closeSync,
  fchmodSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { promisify } from "node:util";
import { copyFileRange, ErrnoError, seekData, seekHole } from "./libc.ts";

/** Bytes per syscall: the unit of progress reports, abort checks and event-loop yields. */
export const SPARSE_COPY_CHUNK_BYTES = 8 * 1024 * 1024;

/** lseek errnos meaning "this filesystem cannot report holes". */
const SEEK_UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP"]);
/** copy_file_range errnos meaning "not between these files": fall back to read/write. */
const COPY_RANGE_UNSUPPORTED = new Set(["EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP"]);

export class SparseCopyUnsupportedError extends Error {
  override readonly name = "SparseCopyUnsupportedError";
}

export interface SparseCopyOptions {
  signal?: AbortSignal;
  /** `done` is the source offset reached (holes count as done), `total` the source size. */
  onProgress?: (done: number, total: number) => void;
}

export interface SparseCopyResult {
  /** Apparent size of the copy. */
  size: number;
  /** Data bytes actually copied (the holes are not). */
  bytesCopied: number;
}

/**
 * Copies `src` to a new file `dst` (which must not exist: writing through an existing path could change an
 * inode another link shares), with `src`'s mode, fdatasync'ed before returning. On failure or abort the
 * partial `dst` is removed and `src` is untouched; an abort rethrows the signal's reason (an AbortError).
 */
export async function sparseCopyFile(
  src: string,
  dst: string,
  options: SparseCopyOptions = {},
): Promise<SparseCopyResult> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const srcFd = openSync(src, "r");
  let dstFd: number | undefined;
  try {
    const stat = fstatSync(srcFd);
    if (!stat.isFile()) throw new Error(`sparse copy: not a regular file: ${src}`);
    dstFd = openSync(dst, "wx", 0o600);
    fchmodSync(dstFd, stat.mode & 0o7777);
    ftruncateSync(dstFd, stat.size);
    const copier = new ExtentCopier(srcFd, dstFd, { src, dst });
    let bytesCopied = 0;
    // Probe before the loop even for an empty file, so an unsupported filesystem is reported consistently.
    let dataStart = dataAtOrAfter(srcFd, 0, src);
    while (dataStart !== null && dataStart < stat.size) {
      // Bytes appended after fstat are not part of this copy.
      const dataEnd = Math.min(seekHole(srcFd, dataStart, src), stat.size);
      for (let pos = dataStart; pos < dataEnd; ) {
        const copied = copier.copy(pos, Math.min(SPARSE_COPY_CHUNK_BYTES, dataEnd - pos));
        pos += copied;
        bytesCopied += copied;
        onProgress?.(pos, stat.size);
        await yieldToEventLoop();
        signal?.throwIfAborted();
      }
      dataStart = dataEnd < stat.size ? dataAtOrAfter(srcFd, dataEnd, src) : null;
    }
    onProgress?.(stat.size, stat.size);
    // On the thread pool: flushing gigabytes of copied data must not stall the event loop.
    await promisify(fdatasync)(dstFd);
    closeSync(dstFd);
    dstFd = undefined;
    return { size: stat.size, bytesCopied };
  } catch (err) {
    if (dstFd !== undefined) {
      closeSync(dstFd);
      rmSync(dst, { force: true });
    }
    throw err;
  } finally {
    closeSync(srcFd);
  }
}

function dataAtOrAfter(fd: number, offset: number, path: string): number | null {
  try {
    return seekData(fd, offset, path);
  } catch (err) {
    if (err instanceof ErrnoError && SEEK_UNSUPPORTED.has(err.code)) {
      throw new SparseCopyUnsupportedError(`sparse copy unsupported (SEEK_DATA/SEEK_HOLE: ${err.code}): ${path}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** Copies one chunk of a data extent: copy_file_range, or read/write once the kernel says it cannot. */
class ExtentCopier {
  private buffer: Buffer | undefined;

  constructor(
    private readonly srcFd: number,
    private readonly dstFd: number,
    private readonly paths: { src: string; dst: string },
  ) {}

  /** Returns the bytes copied (> 0); a source that ends early is an error, not a silently short copy. */
  copy(offset: number, length: number): number {
    const copied = this.buffer ? this.readWrite(offset, length) : this.copyInKernel(offset, length);
    if (copied === 0) throw new Error(`sparse copy: ${this.paths.src} shrank during the copy (at offset ${offset})`);
    return copied;
  }

  private copyInKernel(offset: number, length: number): number {
    try {
      return copyFileRange(this.srcFd, offset, this.dstFd, offset, length, this.paths);
    } catch (err) {
      if (!(err instanceof ErrnoError && COPY_RANGE_UNSUPPORTED.has(err.code))) throw err;
      this.buffer = Buffer.allocUnsafe(SPARSE_COPY_CHUNK_BYTES);
      return this.readWrite(offset, length);
    }
  }

  private readWrite(offset: number, length: number): number {
    const buffer = this.buffer!;
    const read = readSync(this.srcFd, buffer, 0, length, offset);
    for (let written = 0; written < read; ) {
      written += writeSync(this.dstFd, buffer, written, read - written, offset + written);
    }
    return read;
  }
}

/** A macrotask boundary: lets timers and I/O callbacks run between two chunks of a long copy. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
