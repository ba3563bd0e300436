import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { readTar, TAR_END, tarEntryBytes, TarError, tarHeader, tarPaddingBytes } from "./tar.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function archive(files: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [path, body] of files) parts.push(tarHeader(path, body.length, new Date(0)), body, new Uint8Array(tarPaddingBytes(body.length)));
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

/** Feeds `bytes` in pieces of `piece` bytes. */
async function* pieces(bytes: Uint8Array, piece: number) {
  for (let o = 0; o < bytes.length; o += piece) yield bytes.subarray(o, o + piece);
}

async function entries(source: AsyncIterable<Uint8Array>): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for await (const e of readTar(source)) {
    const chunks: Uint8Array[] = [];
    for await (const c of e.body) chunks.push(c.slice());
    out.push([e.path, Buffer.concat(chunks)]);
  }
  return out;
}

const long = `guest/${"d".repeat(90)}/${"f".repeat(90)}`;

test("the system tar lists and extracts what the writer writes, long names included", () => {
  const files: [string, Uint8Array][] = [["manifest.json", new TextEncoder().encode("{}")], [long, new Uint8Array(1000).fill(7)], ["empty", new Uint8Array(0)]];
  const bytes = archive(files);
  expect(bytes.length).toBe(files.reduce((s, [, b]) => s + tarEntryBytes(b.length), 0) + TAR_END.length);
  writeFileSync(join(dir, "w.tar"), bytes);
  const listing = Bun.spawnSync(["tar", "-tf", join(dir, "w.tar")]).stdout.toString().trim().split("\n");
  expect(listing).toEqual(files.map(([p]) => p));
  mkdirSync(join(dir, "x"));
  expect(Bun.spawnSync(["tar", "-xf", join(dir, "w.tar"), "-C", join(dir, "x")]).exitCode).toBe(0);
  expect(readFileSync(join(dir, "x", long))).toEqual(Buffer.from(files[1]![1]));
});

test("the reader takes what `tar --format=ustar` makes", async () => {
  const src = join(dir, "src");
  mkdirSync(join(src, "guest"), { recursive: true });
  writeFileSync(join(src, "guest/disk.raw"), new Uint8Array(3000).fill(1));
  writeFileSync(join(src, "snapshot.json"), "{}");
  const tar = Bun.spawnSync(["tar", "--format=ustar", "-cf", "-", "-C", src, "snapshot.json", "guest/disk.raw"]).stdout;
  const got = await entries(pieces(new Uint8Array(tar), 777));
  expect(got.map(([p, b]) => [p, b.length])).toEqual([["snapshot.json", 2], ["guest/disk.raw", 3000]]);
});

test("any files, split into any pieces, read back as written", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,12}(\/[a-z]{1,12}){0,2}$/), fc.uint8Array({ maxLength: 2000 })), { selector: ([p]) => p, maxLength: 5 }),
      fc.integer({ min: 1, max: 1500 }),
      async (files, piece) => {
        expect(await entries(pieces(archive(files), piece))).toEqual(files.map(([p, b]) => [p, Buffer.from(b)]));
      },
    ),
    { numRuns: 50 },
  );
});

test("a truncated archive, a flipped header byte and a non-file member are TarErrors", async () => {
  const bytes = archive([["a", new Uint8Array(600).fill(3)]]);
  for (const cut of [100, 512 + 10, 512 + 600, bytes.length - 1]) {
    await expect(entries(pieces(bytes.subarray(0, cut), 64))).rejects.toBeInstanceOf(TarError);
  }
  const flipped = bytes.slice();
  flipped[0]! ^= 1;
  await expect(entries(pieces(flipped, 512))).rejects.toThrow("checksum");
  const dirEntry = tarHeader("d", 0, new Date(0));
  dirEntry[156] = "5".charCodeAt(0);
  let sum = 0;
  dirEntry.fill(32, 148, 156);
  for (const b of dirEntry) sum += b;
  dirEntry.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  await expect(entries(pieces(Buffer.concat([dirEntry, TAR_END]), 512))).rejects.toThrow("only regular files");
});
