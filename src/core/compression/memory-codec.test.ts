// A memory file through the codecs and back: one complete form at every step, nothing in flight left behind.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticMemory } from "../../store/codecs/synthetic-memory.ts";
import { compressMemory, makeMemoryRaw } from "./memory-codec.ts";

let dir: string;
let original: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "sv-memcodec-"));
  original = join(dir, "original");
  await writeSyntheticMemory(original, 8 << 20);
  copyFileSync(original, join(dir, "memory"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sameAsOriginal = (path: string) => Bun.spawnSync(["cmp", path, original]).exitCode === 0;
const noSignal = { signal: new AbortController().signal, onProgress: () => {} };

for (const algorithm of ["zstd", "lz4"] as const) {
  test(`${algorithm}: compress replaces the raw file; makeMemoryRaw brings the same bytes back`, async () => {
    const extension = algorithm === "zstd" ? ".zst" : ".lz4";
    const result = await compressMemory(join(dir, "memory"), { enabled: true, algorithm, level: 1 }, noSignal);
    expect(result.bytesIn).toBe(8 << 20);
    expect(readdirSync(dir).sort()).toEqual(["memory" + extension, "original"]);

    await makeMemoryRaw(dir, "memory");
    expect(readdirSync(dir).sort()).toEqual(["memory", "original"]);
    expect(sameAsOriginal(join(dir, "memory"))).toBe(true);
  });
}

test("an aborted compression keeps the raw file and leaves no partial output", async () => {
  const abort = new AbortController();
  abort.abort();
  await expect(compressMemory(join(dir, "memory"), { enabled: true, algorithm: "zstd", level: 1 }, { ...noSignal, signal: abort.signal })).rejects.toThrow();
  expect(readdirSync(dir).sort()).toEqual(["memory", "original"]);
  expect(sameAsOriginal(join(dir, "memory"))).toBe(true);
});

test("with the raw file present, stale compressed and in-flight siblings are removed and the raw file kept", async () => {
  for (const stale of ["memory.zst", "memory.lz4.tmp"]) writeFileSync(join(dir, stale), "stale");
  await makeMemoryRaw(dir, "memory");
  expect(readdirSync(dir).sort()).toEqual(["memory", "original"]);
  expect(sameAsOriginal(join(dir, "memory"))).toBe(true);
});

test("no memory in any form is an error that names the file", async () => {
  rmSync(join(dir, "memory"));
  await expect(makeMemoryRaw(dir, "memory")).rejects.toThrow(join(dir, "memory"));
});
