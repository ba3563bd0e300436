// Blocks reserved for a file before something writes it through a shared mapping: a first write to a page whose
// block the filesystem cannot allocate is not an error the writer can handle but a SIGBUS (a guest's VMM dies of
// a full disk). Reserved blocks read as zeros and count as allocated (stat.blocks) though SEEK_DATA skips them,
// so once nothing maps the file the ones never written are released again.
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { fallocate, punchHole, seekData, seekHole } from "./libc.ts";

/**
 * Allocates every block of `path`'s first `bytes` (creating the file, mode 0600, or growing it to that size),
 * keeping its data. On a full disk (ErrnoError ENOSPC) what it did reserve is released again before it throws.
 */
export function reserveBlocks(path: string, bytes: number): void {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    fallocate(fd, 0, bytes, path);
  } catch (err) {
    releaseHoles(fd, path);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Frees the blocks of every range of `path` that SEEK_DATA reports as a hole: reserved but never written (or
 * already free). Data stays; the size stays. Not for a file something still writes through a mapping.
 */
export function releaseUnwrittenBlocks(path: string): void {
  const fd = openSync(path, constants.O_RDWR);
  try {
    releaseHoles(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** Bytes in `path`'s data ranges: what a sparse copy of it writes (reserved blocks never written are not data). */
export function dataBytes(path: string): number {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const size = fstatSync(fd).size;
    let bytes = 0;
    for (let data = seekData(fd, 0, path); data !== null; ) {
      const hole = seekHole(fd, data, path);
      bytes += hole - data;
      data = hole < size ? seekData(fd, hole, path) : null;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function releaseHoles(fd: number, path: string): void {
  const size = fstatSync(fd).size;
  if (size === 0) return; // (seeking at or past the end is ENXIO)
  for (let hole = seekHole(fd, 0, path); hole < size; ) {
    const data = seekData(fd, hole, path) ?? size;
    punchHole(fd, hole, data - hole, path);
    if (data >= size) return;
    hole = seekHole(fd, data, path);
  }
}
