import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../payload/chunk-hash.ts";
import { assembleFile, ChunkMismatchError, type ChunkedFile } from "./assemble-file.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-assemble-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** The chunk store a remote would be: `file` cut into `chunkBytes` pieces, by hash. */
function chunked(path: string, bytes: Uint8Array, chunkBytes: number): { file: ChunkedFile; store: Map<string, Uint8Array> } {
  const store = new Map<string, Uint8Array>();
  const chunks: string[] = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const piece = bytes.slice(at, at + chunkBytes);
    chunks.push(sha256Hex(piece));
    store.set(sha256Hex(piece), piece);
  }
  return { file: { path, size: bytes.length, sha256: sha256Hex(bytes), chunks }, store };
}

/** Runs of zero and non-zero bytes, so whole chunks of zeros happen. */
const content = fc
  .array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 255 })), { maxLength: 12 })
  .map((runs) => Uint8Array.from(runs.flatMap(([zero, len, v]) => Array<number>(len).fill(zero ? 0 : v))));

test("any file comes back byte for byte; chunks of zeros are never fetched and stay holes", async () => {
  await fc.assert(
    fc.asyncProperty(content, fc.integer({ min: 1, max: 64 }), async (bytes, chunkBytes) => {
      const { file, store } = chunked("f", bytes, chunkBytes);
      const fetched: string[] = [];
      const target = join(dir, `ok-${n++}`);
      let placed = 0;
      await assembleFile(target, file, {
        chunkBytes,
        fetchChunk: async (sha) => (fetched.push(sha), store.get(sha)!),
        onChunk: (length) => (placed += length),
      });
      expect(new Uint8Array(readFileSync(target))).toEqual(bytes);
      const zeroChunks = file.chunks.filter((sha, i) => sha === sha256Hex(new Uint8Array(Math.min(chunkBytes, bytes.length - i * chunkBytes))));
      expect(fetched.length).toBe(file.chunks.length - zeroChunks.length);
      expect(placed).toBe(bytes.length);
    }),
    { numRuns: 60 },
  );
});

test("a chunk whose bytes do not match its hash is refused, naming the file and chunk", async () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
  const { file, store } = chunked("guest/disk.raw", bytes, 32);
  const damaged = new Map(store);
  const second = file.chunks[1]!;
  const copy = store.get(second)!.slice();
  copy[3] = copy[3]! ^ 1;
  damaged.set(second, copy);
  const target = join(dir, "damaged");
  const run = assembleFile(target, file, { chunkBytes: 32, fetchChunk: async (sha) => damaged.get(sha)!, onChunk: () => {} });
  await expect(run).rejects.toThrow(ChunkMismatchError);
  await expect(run).rejects.toThrow(`chunk 1 of guest/disk.raw (${second})`);
});

test("a sparse file stays sparse: 8 MiB of zeros with one written chunk allocates about one chunk", async () => {
  const chunkBytes = 1 << 20;
  const bytes = new Uint8Array(8 * chunkBytes);
  bytes.fill(7, 3 * chunkBytes, 4 * chunkBytes);
  const { file, store } = chunked("disk", bytes, chunkBytes);
  const target = join(dir, "sparse");
  await assembleFile(target, file, { chunkBytes, fetchChunk: async (sha) => store.get(sha)!, onChunk: () => {} });
  expect(statSync(target).size).toBe(8 * chunkBytes);
  expect(statSync(target).blocks * 512).toBeLessThanOrEqual(2 * chunkBytes);
  expect(new Uint8Array(readFileSync(target))).toEqual(bytes);
});
