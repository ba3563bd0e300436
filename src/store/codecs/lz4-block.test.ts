import { beforeAll, describe, expect, test } from "bun:test";
import { Lz4FormatError, decodeLz4Block } from "./lz4-block.ts";
import { LZ4_WASM_SIZE_PREFIX, compressBlock, loadLz4Wasm } from "./lz4-wasm-loader.ts";

beforeAll(loadLz4Wasm);

const block = (data: Uint8Array) => compressBlock(data, (prefixed) => prefixed.slice(LZ4_WASM_SIZE_PREFIX));

function roundTrip(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  expect(decodeLz4Block(block(data), out, 0, out.length, 0)).toBe(data.length);
  return out;
}

describe("decodeLz4Block", () => {
  test("decodes what lz4-wasm encodes: zeros, short and long periodic patterns, text, random bytes", () => {
    const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog 1234567890\n".repeat(5000));
    const random = crypto.getRandomValues(new Uint8Array(60_000));
    const periodic = new Uint8Array(100_000).map((_, i) => [7, 1, 9][i % 3]!);
    const wide = new Uint8Array(100_000).map((_, i) => (i % 37) * 5);
    // Patterns of period 2-9 give overlapping matches on each side of the 8-byte word copies.
    const periods = [2, 4, 5, 7, 8, 9].map((p) => new Uint8Array(50_000).map((_, i) => ((i % p) * 31 + i / 997) & 255));
    for (const data of [new Uint8Array(1 << 20), text, random, periodic, wide, ...periods, new Uint8Array([1, 2, 3])]) {
      expect(roundTrip(data)).toEqual(data);
    }
  });

  test("a linked block's matches reach into the history before `start`", () => {
    // Hand-made: 4 literals "abcd", a match of 8 at offset 8 (4 bytes before `start`), then a literal "!".
    const dst = new Uint8Array(32);
    dst.set(new TextEncoder().encode("WXYZ"), 0);
    const withTail = new Uint8Array([0x44, 0x61, 0x62, 0x63, 0x64, 8, 0, 0x10, 0x21]);
    const end = decodeLz4Block(withTail, dst, 4, dst.length, 0);
    expect(new TextDecoder().decode(dst.subarray(4, end))).toBe("abcdWXYZabcd!");
    expect(() => decodeLz4Block(withTail, new Uint8Array(32), 4, 32, 4)).toThrow(Lz4FormatError);
  });

  test("corrupt input fails instead of writing garbage", () => {
    const good = block(new TextEncoder().encode("abcabcabcabcabcabcabcabcabcabcabc".repeat(50)));
    const out = new Uint8Array(4096);
    expect(() => decodeLz4Block(good, new Uint8Array(10), 0, 10, 0)).toThrow(Lz4FormatError); // output too small
    expect(() => decodeLz4Block(good.subarray(0, good.length - 3), out, 0, out.length, 0)).toThrow(Lz4FormatError);
    expect(() => decodeLz4Block(new Uint8Array([0xf0]), out, 0, out.length, 0)).toThrow(Lz4FormatError); // length runs out
    expect(() => decodeLz4Block(new Uint8Array([0x10, 0x41, 0, 0, 0x10]), out, 0, out.length, 0)).toThrow(Lz4FormatError); // offset 0
  });
});
