import { expect, test } from "bun:test";
import { CODECS, CODEC_NAMES, codecLevel } from "./codec-table.ts";

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part.slice());
  return Buffer.concat(parts);
}

test("every codec round-trips at its lowest, default and highest level", async () => {
  const data = new TextEncoder().encode("snapshot memory ".repeat(10_000));
  for (const name of CODEC_NAMES) {
    const { levels, compress, decompress } = CODECS[name];
    for (const level of [levels.min, levels.default, levels.max]) {
      const packed = await collect(compress(once(data), level));
      expect(packed.length).toBeLessThan(data.length / 10);
      expect(Buffer.compare(await collect(decompress(once(packed))), data)).toBe(0);
    }
  }
});

test("levels follow reference §7.1 and out-of-range levels are refused", () => {
  expect(CODECS.zstd.levels).toEqual({ min: 1, max: 19, default: 1 });
  expect(CODECS.lz4.levels).toEqual({ min: 0, max: 9, default: 0 });
  expect(CODECS.zstd.extension).toBe(".zst");
  expect(CODECS.lz4.extension).toBe(".lz4");
  expect(codecLevel("zstd")).toBe(1);
  expect(codecLevel("lz4", 9)).toBe(9);
  for (const [name, level] of [["zstd", 0], ["zstd", 20], ["lz4", -1], ["lz4", 10], ["zstd", 1.5]] as const) {
    expect(() => codecLevel(name, level)).toThrow(RangeError);
  }
});
