import { afterEach, beforeEach, expect, test } from "bun:test";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataBytes, releaseUnwrittenBlocks, reserveBlocks } from "./block-reservation.ts";

const MiB = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-reserve-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const allocated = (path: string) => statSync(path).blocks * 512;

test("a new file is created at the size with all its blocks allocated, private to its owner", () => {
  const path = join(dir, "ram");
  reserveBlocks(path, 16 * MiB);
  expect(statSync(path).size).toBe(16 * MiB);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(allocated(path)).toBeGreaterThanOrEqual(16 * MiB);
  expect(dataBytes(path)).toBe(0);
});

test("releasing an empty file is a no-op", () => {
  const path = join(dir, "empty");
  writeFileSync(path, "");
  releaseUnwrittenBlocks(path);
  expect(statSync(path).size).toBe(0);
});

test("an existing file keeps its data; releasing frees what was never written, and it reads the same", () => {
  const path = join(dir, "ram");
  writeFileSync(path, Buffer.alloc(0));
  reserveBlocks(path, 16 * MiB);
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(MiB, 5), 0, MiB, 3 * MiB);
    writeSync(fd, Buffer.alloc(MiB, 9), 0, MiB, 15 * MiB);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  reserveBlocks(path, 16 * MiB); // again: the data is kept
  expect(dataBytes(path)).toBe(2 * MiB);

  // (Read only afterwards: pages in the page cache count as data to SEEK_DATA, so reading first keeps them.)
  releaseUnwrittenBlocks(path);
  expect(statSync(path).size).toBe(16 * MiB);
  expect(allocated(path)).toBeGreaterThanOrEqual(2 * MiB);
  expect(allocated(path)).toBeLessThan(3 * MiB);
  const expected = Buffer.alloc(16 * MiB);
  expected.fill(5, 3 * MiB, 4 * MiB);
  expected.fill(9, 15 * MiB);
  expect(readFileSync(path)).toEqual(expected);
});
