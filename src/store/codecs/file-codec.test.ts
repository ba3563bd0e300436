import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHUNK_BYTES, HOLE_BYTES, compressFile, decompressFile } from "./file-codec.ts";
import { writeSyntheticMemory } from "./synthetic-memory.ts";

const dir = mkdtempSync(join(tmpdir(), "file-codec-"));
const memory = join(dir, "memory");
const MEMORY_BYTES = 64 << 20;
beforeAll(() => writeSyntheticMemory(memory, MEMORY_BYTES));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(command: string): void {
  const run = Bun.spawnSync(["sh", "-c", command]);
  expect(run.exitCode, run.stderr.toString()).toBe(0);
}

describe("on 64 MiB of VM-like memory", () => {
  for (const [algorithm, level, cli] of [["zstd", 1, "zstd"], ["zstd", 3, "zstd"], ["lz4", 0, "lz4"]] as const) {
    test(`${algorithm}-${level}: the CLI decodes our output, we decode it back, progress covers the input`, async () => {
      const packed = join(dir, `memory.${algorithm}${level}`);
      const progress: number[] = [];
      const result = await compressFile(memory, packed, { algorithm, level, onProgress: (done, total) => {
        expect(total).toBe(MEMORY_BYTES);
        progress.push(done);
      } });
      expect(result.bytesIn).toBe(MEMORY_BYTES);
      expect(result.bytesOut).toBe(statSync(packed).size);
      expect(result.bytesOut).toBeLessThan(MEMORY_BYTES / 3);
      expect(progress).toEqual(Array.from({ length: MEMORY_BYTES / CHUNK_BYTES }, (_, i) => (i + 1) * CHUNK_BYTES));
      sh(`${cli} -d -c '${packed}' | cmp - '${memory}'`);
      const back = join(dir, `back.${algorithm}${level}`);
      expect((await decompressFile(packed, back, { algorithm })).bytesOut).toBe(MEMORY_BYTES);
      sh(`cmp '${back}' '${memory}'`);
      // Its zero pages (61% of the input) are holes, as in `zstd -d` / `lz4 -d` output.
      expect(statSync(back).blocks * 512).toBeLessThan(MEMORY_BYTES * 0.5);
    });
  }

  test("we decode what the CLIs make from the same file", async () => {
    for (const [algorithm, make] of [["zstd", "zstd -q -1 -T1 -c"], ["zstd", "zstd -q -6 -T2 -c"], ["lz4", "lz4 -q -1 -c"], ["lz4", "lz4 -q -9 -BD -c"]] as const) {
      const packed = join(dir, "cli-made");
      sh(`${make} '${memory}' > '${packed}'`);
      const back = join(dir, "cli-back");
      await decompressFile(packed, back, { algorithm });
      sh(`cmp '${back}' '${memory}'`);
    }
  }, 60_000);
});

test("sizes that are not whole chunks, empty files and trailing zeros round-trip", async () => {
  for (const bytes of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES + 1, 3 * HOLE_BYTES + 5]) {
    const src = join(dir, "odd");
    const data = new Uint8Array(bytes).map((_, i) => (i * i) % 251);
    data.set(crypto.getRandomValues(new Uint8Array(Math.min(bytes, 4096))));
    data.fill(0, Math.max(0, bytes - 2 * HOLE_BYTES)); // ends in a hole, sometimes in the middle of a page
    writeFileSync(src, data);
    for (const algorithm of ["zstd", "lz4"] as const) {
      await compressFile(src, `${src}.packed`, { algorithm });
      await decompressFile(`${src}.packed`, `${src}.back`, { algorithm });
      sh(`cmp '${src}.back' '${src}'`);
    }
  }
});

test("an aborted signal stops the work with its reason and closes the files", async () => {
  const openFds = () => readdirSync("/proc/self/fd").length;
  const fdsBefore = openFds();
  const abort = new AbortController();
  const reason = new Error("stop now");
  const done = compressFile(memory, join(dir, "aborted"), {
    algorithm: "zstd",
    level: 3,
    signal: abort.signal,
    onProgress: (bytes) => bytes >= 2 * CHUNK_BYTES && abort.abort(reason),
  });
  await expect(done).rejects.toBe(reason);
  expect(statSync(join(dir, "aborted")).size).toBeLessThan(MEMORY_BYTES / 10); // partial: the runner removes it
  expect(openFds()).toBe(fdsBefore);
});
