import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, pieces } from "../../../test/streams.ts";
import { LZ4_BLOCK_BYTES, compressLz4Frame, decompressLz4Frames } from "./lz4-frame.ts";
import { Lz4FormatError } from "./lz4-block.ts";

const dir = mkdtempSync(join(tmpdir(), "lz4-frame-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lz4Cli(args: string[], input: Uint8Array): Uint8Array {
  const file = join(dir, "cli-input");
  writeFileSync(file, input);
  const run = Bun.spawnSync(["lz4", "-q", ...args, "-c", file]);
  expect(run.exitCode, run.stderr.toString()).toBe(0);
  return run.stdout;
}

/** Text, zeros and random bytes: compressible and incompressible blocks. */
function sample(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  const text = new TextEncoder().encode("pid=1234 state=running mem=512MB vcpus=2\n".repeat(2000));
  for (let at = 0; at < bytes; at += 3 << 16) {
    data.set(text.subarray(0, Math.min(text.length, bytes - at)), at);
    const r = at + (2 << 16);
    if (r < bytes) data.set(crypto.getRandomValues(new Uint8Array(Math.min(1 << 16, bytes - r))), r);
  }
  return data;
}

describe("our LZ4 frames", () => {
  test("`lz4 -d` decodes them byte-exact, including stored blocks and chunks larger than a block", async () => {
    const data = sample(2 * LZ4_BLOCK_BYTES + 12345);
    data.set(crypto.getRandomValues(new Uint8Array(65536)), 0);
    const incompressible = crypto.getRandomValues(new Uint8Array(100_000));
    for (const [input, chunk] of [[data, 3 * LZ4_BLOCK_BYTES], [data, 1 << 20], [incompressible, 1 << 16]] as const) {
      const frame = await collect(compressLz4Frame(pieces(input, chunk)));
      expect(new Uint32Array(frame.buffer, 0, 1)[0]).toBe(0x184d2204);
      expect(Buffer.compare(lz4Cli(["-d"], frame), input)).toBe(0);
      expect(Buffer.compare(await collect(decompressLz4Frames(pieces(frame, 1000))), input)).toBe(0);
    }
    const stored = await collect(compressLz4Frame(pieces(incompressible, 1 << 20)));
    expect(stored[7 + 3]! & 0x80).toBe(0x80); // bit 31 of the first block length: stored
  });

  test("an empty input is a valid empty frame", async () => {
    const frame = await collect(compressLz4Frame(pieces(new Uint8Array(0), 1)));
    expect(lz4Cli(["-d"], frame).length).toBe(0);
    expect((await collect(decompressLz4Frames(pieces(frame, 64)))).length).toBe(0);
  });
});

describe("frames made by the lz4 CLI", () => {
  const data = sample(3 * LZ4_BLOCK_BYTES + 777);
  const cases: [string, string[]][] = [
    ["default (-1: independent 4 MiB blocks, content checksum)", ["-1"]],
    ["linked blocks (-BD), 64 KiB blocks", ["-1", "-BD", "-B4"]],
    ["block checksums (-BX) and content size", ["-9", "-BX", "--content-size"]],
    ["no frame checksum, 256 KiB blocks", ["-1", "--no-frame-crc", "-B5"]],
  ];
  for (const [name, args] of cases) {
    test(name, async () => {
      const frame = lz4Cli(args, data);
      for (const size of [LZ4_BLOCK_BYTES, 4099]) {
        expect(Buffer.compare(await collect(decompressLz4Frames(pieces(frame, size))), data)).toBe(0);
      }
    });
  }

  test("concatenated frames and skippable frames decode as one stream", async () => {
    const a = lz4Cli(["-1"], data.subarray(0, 100_000));
    const b = lz4Cli(["-1", "-BD"], data.subarray(100_000, 300_000));
    const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const stream = Buffer.concat([a, skippable, b]);
    expect(Buffer.compare(await collect(decompressLz4Frames(pieces(stream, 5000))), data.subarray(0, 300_000))).toBe(0);
  });

  test("broken input is refused: legacy format, bad header checksum, truncation, wrong content size, not lz4", async () => {
    const good = lz4Cli(["-1", "--content-size"], data.subarray(0, 200_000));
    const badChecksum = good.slice();
    badChecksum[4 + 2 + 8]! ^= 0xff;
    const badSize = good.slice();
    badSize[6]! ^= 1; // content size, low byte
    badSize[14] = headerChecksum(badSize.subarray(4, 14));
    const inputs = [lz4Cli(["-1", "-l"], data.subarray(0, 1000)), badChecksum, good.subarray(0, good.length - 10), badSize, new Uint8Array(0), new Uint8Array(100)];
    for (const input of inputs) {
      await expect(collect(decompressLz4Frames(pieces(input, 4096)))).rejects.toThrow(Lz4FormatError);
    }
  });
});

function headerChecksum(descriptor: Uint8Array): number {
  return (Bun.hash.xxHash32(descriptor) >>> 8) & 0xff;
}
