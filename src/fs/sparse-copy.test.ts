import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SPARSE_COPY_CHUNK_BYTES, sparseCopyFile, SparseCopyUnsupportedError } from "./sparse-copy.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Building and comparing 1 GiB files takes seconds on a slow disk; the copies themselves are not timed. */
const HEAVY_TEST_TIMEOUT_MS = 120_000;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-sparse-copy-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `size` bytes, holes everywhere except random data at the given [offset, length] pairs. */
function makeSparseFile(path: string, size: number, extents: Array<[number, number]>, mode = 0o644): void {
  const fd = openSync(path, "w", mode);
  try {
    ftruncateSync(fd, size);
    for (const [offset, length] of extents) writeSync(fd, randomBytes(length), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

function sameContent(a: string, b: string): boolean {
  return Bun.spawnSync(["cmp", "-s", a, b]).exitCode === 0;
}

function sha256(path: string): string {
  return Bun.spawnSync(["sha256sum", path]).stdout.toString().split(" ")[0]!;
}

describe("sparseCopyFile", () => {
  test("copies a 1 GiB sparse file's data extents only, with identical content and mode", async () => {
    const src = join(dir, "sparse-1g");
    const dst = join(dir, "sparse-1g.copy");
    // Unaligned offsets and an extent longer than one chunk, ending exactly at EOF.
    const extents: Array<[number, number]> = [
      [0, MiB],
      [100 * MiB + 123, 2 * MiB],
      [512 * MiB, 10 * MiB],
      [GiB - MiB, MiB],
    ];
    makeSparseFile(src, GiB, extents, 0o640);
    const dataBytes = extents.reduce((sum, [, length]) => sum + length, 0);

    const result = await sparseCopyFile(src, dst);

    expect(result.size).toBe(GiB);
    expect(statSync(dst).size).toBe(GiB);
    expect(statSync(dst).mode & 0o7777).toBe(0o640);
    expect(sameContent(src, dst)).toBe(true);
    // Extents are block-aligned, so a little more than the data is copied, never the holes.
    expect(result.bytesCopied).toBeGreaterThanOrEqual(dataBytes);
    expect(result.bytesCopied).toBeLessThan(dataBytes + MiB);
    expect(allocated(dst)).toBeLessThan(dataBytes + 2 * MiB);
    expect(allocated(dst)).toBeGreaterThanOrEqual(dataBytes);
  }, HEAVY_TEST_TIMEOUT_MS);

  test("copies an empty file", async () => {
    const src = join(dir, "empty");
    const dst = join(dir, "empty.copy");
    writeFileSync(src, "");
    expect(await sparseCopyFile(src, dst)).toEqual({ size: 0, bytesCopied: 0 });
    expect(statSync(dst).size).toBe(0);
  });

  test("copies a file that is all data, reporting progress up to its size", async () => {
    const src = join(dir, "dense");
    const dst = join(dir, "dense.copy");
    const size = 2 * SPARSE_COPY_CHUNK_BYTES + 4097;
    writeFileSync(src, randomBytes(size));
    const progress: number[] = [];

    const result = await sparseCopyFile(src, dst, { onProgress: (done, total) => progress.push(done / total) });

    expect(result).toEqual({ size, bytesCopied: size });
    expect(sameContent(src, dst)).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.toSorted((a, b) => a - b)).toEqual(progress);
    expect(progress.at(-1)).toBe(1);
  });

  test("keeps a trailing hole", async () => {
    const src = join(dir, "trailing-hole");
    const dst = join(dir, "trailing-hole.copy");
    makeSparseFile(src, 64 * MiB, [[0, MiB]]);

    const result = await sparseCopyFile(src, dst);

    expect(statSync(dst).size).toBe(64 * MiB);
    expect(result.bytesCopied).toBe(MiB);
    expect(allocated(dst)).toBeLessThan(2 * MiB);
    expect(sameContent(src, dst)).toBe(true);
  });

  test("abort mid-way throws AbortError, removes the partial copy and leaves the source intact", async () => {
    const src = join(dir, "abort-src");
    const dst = join(dir, "abort-src.copy");
    writeFileSync(src, randomBytes(4 * SPARSE_COPY_CHUNK_BYTES));
    const before = sha256(src);
    const controller = new AbortController();
    let chunks = 0;

    const copy = sparseCopyFile(src, dst, {
      signal: controller.signal,
      onProgress: () => {
        if (++chunks === 1) controller.abort();
      },
    });

    await expect(copy).rejects.toMatchObject({ name: "AbortError" });
    expect(chunks).toBe(1);
    expect(existsSync(dst)).toBe(false);
    expect(sha256(src)).toBe(before);
  });

  test("lets other callbacks run between chunks", async () => {
    const src = join(dir, "yield-src");
    writeFileSync(src, randomBytes(4 * SPARSE_COPY_CHUNK_BYTES));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await sparseCopyFile(src, join(dir, "yield-src.copy"));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  test("falls back to read/write across filesystems (copy_file_range EXDEV)", async () => {
    const src = join(dir, "cross-fs");
    makeSparseFile(src, 32 * MiB, [[3 * MiB, SPARSE_COPY_CHUNK_BYTES + 5]]);
    const shm = mkdtempSync("/dev/shm/sv-sparse-copy-");
    try {
      const dst = join(shm, "copy");
      const result = await sparseCopyFile(src, dst);
      expect(sameContent(src, dst)).toBe(true);
      expect(result.bytesCopied).toBeLessThan(SPARSE_COPY_CHUNK_BYTES + MiB);
      expect(allocated(dst)).toBeLessThan(SPARSE_COPY_CHUNK_BYTES + 2 * MiB);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  test("fails with SparseCopyUnsupportedError where SEEK_DATA is unsupported, leaving no copy", async () => {
    // procfs files reject SEEK_DATA with EINVAL.
    const dst = join(dir, "proc.copy");
    const copy = sparseCopyFile("/proc/self/status", dst);
    await expect(copy).rejects.toBeInstanceOf(SparseCopyUnsupportedError);
    expect(existsSync(dst)).toBe(false);
  });

  test("refuses to write through an existing destination", async () => {
    const src = join(dir, "exists-src");
    const dst = join(dir, "exists-dst");
    writeFileSync(src, "new");
    writeFileSync(dst, "old");
    await expect(sparseCopyFile(src, dst)).rejects.toMatchObject({ code: "EEXIST" });
    expect(await Bun.file(dst).text()).toBe("old");
  });

  test(
    "measure: 1 GiB with 16 MiB of data and 256 MiB dense, vs cp --sparse=always",
    async () => {
      const sparse = join(dir, "bench-sparse");
      makeSparseFile(
        sparse,
        GiB,
        Array.from({ length: 16 }, (_, i): [number, number] => [i * 64 * MiB, MiB]),
      );
      const dense = join(dir, "bench-dense");
      writeFileSync(dense, randomBytes(256 * MiB));
      const rows = ["sparse copy, best of 3 (ms)   ours (fdatasync)   cp --sparse=always   cp + sync FILE"];
      for (const [label, src] of [
        ["1 GiB, 16 MiB data", sparse],
        ["256 MiB dense", dense],
      ] as const) {
        const ours = await bestOf(3, (i) => sparseCopyFile(src, `${src}.ours${i}`));
        const cp = await bestOf(3, (i) => run(["cp", "--sparse=always", src, `${src}.cp${i}`]));
        const cpSync = await bestOf(3, async (i) => {
          await run(["cp", "--sparse=always", src, `${src}.cpsync${i}`]);
          await run(["sync", `${src}.cpsync${i}`]);
        });
        rows.push(`${label.padEnd(28)} ${fmt(ours, 18)} ${fmt(cp, 20)} ${fmt(cpSync, 16)}`);
        expect(sameContent(src, `${src}.ours0`)).toBe(true);
        expect(allocated(`${src}.ours0`)).toBeLessThan(allocated(`${src}.cp0`) + MiB);
      }
      console.log(rows.join("\n"));
    },
    HEAVY_TEST_TIMEOUT_MS,
  );
});

const fmt = (ms: number, width: number) => ms.toFixed(1).padStart(width);

async function run(argv: string[]): Promise<void> {
  const proc = Bun.spawn(argv);
  if ((await proc.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
}

async function bestOf(times: number, body: (i: number) => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await body(i);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}
