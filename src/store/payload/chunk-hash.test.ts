import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { hashFile, readChunks } from "./chunk-hash.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-chunk-hash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("whole-file and per-chunk hashes equal node's SHA-256 of the same bytes, for any size and chunk size", async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 1024 }), async (data, chunkBytes) => {
      const path = join(dir, `f${n++}`);
      writeFileSync(path, data);
      const hash = await hashFile(path, { chunkBytes });
      expect(hash.size).toBe(data.length);
      expect(hash.sha256).toBe(sha(data));
      const expected: string[] = [];
      for (let o = 0; o < data.length; o += chunkBytes) expected.push(sha(data.subarray(o, o + chunkBytes)));
      expect(hash.chunks).toEqual(expected);
    }),
    { numRuns: 60 },
  );
});

test("chunks are fresh buffers at their offsets, kept intact after the next is read", async () => {
  const data = new Uint8Array(10).map((_, i) => i);
  writeFileSync(join(dir, "ten"), data);
  const chunks = [];
  for await (const c of readChunks(join(dir, "ten"), { chunkBytes: 4 })) chunks.push(c);
  expect(chunks.map((c) => [c.index, c.offset, [...c.bytes]])).toEqual([
    [0, 0, [0, 1, 2, 3]],
    [1, 4, [4, 5, 6, 7]],
    [2, 8, [8, 9]],
  ]);
});

test("an aborted read stops with the signal's reason", async () => {
  writeFileSync(join(dir, "abort"), new Uint8Array(64));
  const abort = new AbortController();
  abort.abort(new Error("stop"));
  await expect(hashFile(join(dir, "abort"), { chunkBytes: 8, signal: abort.signal })).rejects.toThrow("stop");
});
