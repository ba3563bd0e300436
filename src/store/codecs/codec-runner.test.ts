import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCodec } from "./codec-runner.ts";
import { writeSyntheticMemory } from "./synthetic-memory.ts";

const dir = mkdtempSync(join(tmpdir(), "codec-runner-"));
const small = join(dir, "small");
const large = join(dir, "large");
const LARGE_BYTES = 256 << 20;
beforeAll(async () => {
  await writeSyntheticMemory(small, 16 << 20);
  await writeSyntheticMemory(large, LARGE_BYTES);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sameFiles(a: string, b: string): boolean {
  return Bun.spawnSync(["cmp", a, b]).exitCode === 0;
}

test("compresses and decompresses in a worker, relaying progress", async () => {
  for (const algorithm of ["zstd", "lz4"] as const) {
    const packed = join(dir, `small.${algorithm}`);
    const progress: number[] = [];
    const result = await runCodec({ op: "compress", algorithm, src: small, dst: packed, onProgress: (done) => progress.push(done) });
    expect(result.bytesIn).toBe(16 << 20);
    expect(result.bytesOut).toBe(Bun.file(packed).size);
    expect(result.ms).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(16 << 20);
    expect(progress.length).toBe(4);
    await runCodec({ op: "decompress", algorithm, src: packed, dst: `${packed}.back` });
    expect(sameFiles(`${packed}.back`, small)).toBe(true);
  }
});

test("the event loop stays responsive while 256 MiB compress", async () => {
  const lateness: number[] = [];
  let running = true;
  const tick = () => {
    const planned = performance.now() + 10;
    setTimeout(() => {
      lateness.push(performance.now() - planned);
      if (running) tick();
    }, 10);
  };
  tick();
  let progressEvents = 0;
  const result = await runCodec({ op: "compress", algorithm: "zstd", level: 1, src: large, dst: `${large}.zst`, onProgress: () => progressEvents++ });
  running = false;
  const sorted = lateness.toSorted((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? NaN;
  console.log(
    `256 MiB zstd-1 in the worker: ${result.ms.toFixed(0)} ms; main-thread timer lateness over ${sorted.length} ` +
      `10 ms timers: p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted.at(-1)?.toFixed(2)} ms`,
  );
  expect(progressEvents).toBe(LARGE_BYTES / (4 << 20));
  // A blocked loop would fire a handful of timers at the end; a free one fires about every 10 ms.
  expect(sorted.length).toBeGreaterThan(result.ms / 10 / 4);
}, 60_000);

test("abort mid-way rejects with an AbortError and leaves no partial output", async () => {
  for (const algorithm of ["zstd", "lz4"] as const) {
    const dst = join(dir, `aborted.${algorithm}`);
    const abort = new AbortController();
    let progressAfterAbort = 0;
    const job = runCodec({
      op: "compress",
      algorithm,
      level: algorithm === "zstd" ? 9 : 0,
      src: large,
      dst,
      signal: abort.signal,
      onProgress: (done) => {
        if (abort.signal.aborted) progressAfterAbort++;
        if (done >= 8 << 20) abort.abort();
      },
    });
    await expect(job).rejects.toMatchObject({ name: "AbortError" });
    expect(existsSync(dst)).toBe(false);
    expect(progressAfterAbort).toBeLessThan(3); // stopped within a chunk or two
  }
}, 60_000);

test("an already aborted signal rejects without starting", async () => {
  const dst = join(dir, "never");
  await expect(runCodec({ op: "compress", algorithm: "lz4", src: small, dst, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
  expect(existsSync(dst)).toBe(false);
});

test("a failing job rejects with the cause and removes its output", async () => {
  const notZstd = join(dir, "not-zstd.back");
  await expect(runCodec({ op: "decompress", algorithm: "zstd", src: small, dst: notZstd })).rejects.toThrow(/not a zstd frame/);
  expect(existsSync(notZstd)).toBe(false);
  await expect(runCodec({ op: "compress", algorithm: "zstd", src: join(dir, "missing"), dst: join(dir, "x") })).rejects.toThrow(/ENOENT|no such file/i);
  await expect(runCodec({ op: "compress", algorithm: "zstd", level: 42, src: small, dst: join(dir, "y") })).rejects.toThrow(/between 1 and 19/);
});

test("a progress sink that throws ends the job with its error, after the worker has closed its files", async () => {
  const dst = join(dir, "sink-failed.zst");
  const sinkError = new Error("database or disk is full");
  const job = runCodec({ op: "compress", algorithm: "zstd", src: large, dst, onProgress: () => {
    throw sinkError;
  } });
  await expect(job).rejects.toBe(sinkError);
  expect(existsSync(dst)).toBe(false);
  const open = Bun.spawnSync(["ls", "-l", `/proc/${process.pid}/fd`]).stdout.toString();
  expect(open).not.toContain(dst); // a worker terminated mid-write would keep its output open, deleted
}, 60_000);
