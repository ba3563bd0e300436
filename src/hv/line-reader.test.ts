import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LineReader } from "./line-reader.ts";

/** Feeds `stream` cut at `cuts` and records what the reader reports. */
function read(stream: Uint8Array, cuts: number[], maxLineBytes: number) {
  const lines: string[] = [];
  let oversized = 0;
  const reader = new LineReader(maxLineBytes, (line) => lines.push(line), () => oversized++);
  const bounds = [...new Set([0, ...cuts.map((c) => c % (stream.length + 1)), stream.length])].sort((a, b) => a - b);
  for (let i = 1; i < bounds.length; i++) {
    const chunk = new Uint8Array(stream.subarray(bounds[i - 1], bounds[i]));
    reader.push(chunk);
    chunk.fill(0x21); // the caller reuses its buffer: what the reader kept must not change
  }
  return { lines, oversized };
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const lineBytes = fc.uint8Array({ maxLength: 40 }).map((b) => b.map((x) => (x === 0x0a ? 0x0b : x)));

describe("LineReader", () => {
  test("whatever the chunking, delivers every line within the limit and reports each longer one once", () => {
    fc.assert(
      fc.property(
        fc.array(lineBytes, { maxLength: 20 }),
        lineBytes,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (lines, tail, cuts, max) => {
          const stream = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from("\n")]), tail]);
          const result = read(stream, cuts, max);
          expect(result.lines).toEqual(lines.filter((l) => l.length <= max).map(latin1));
          const longer = lines.filter((l) => l.length > max).length + (tail.length > max ? 1 : 0);
          expect(result.oversized).toBe(longer);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("an endless line is dropped as it comes, reported once, and the line after it arrives", () => {
    const lines: string[] = [];
    let oversized = 0;
    const reader = new LineReader(1024, (line) => lines.push(line), () => oversized++);
    const noise = new Uint8Array(64 * 1024).fill(0x41);
    for (let i = 0; i < 256; i++) reader.push(noise); // 16 MiB without a newline
    reader.push(Buffer.from("\nok\n"));
    expect(oversized).toBe(1);
    expect(lines).toEqual(["ok"]);
  });

  test("a carriage return and arbitrary bytes stay in the line, one char per byte", () => {
    const lines: string[] = [];
    new LineReader(16, (line) => lines.push(line), () => undefined).push(new Uint8Array([0xff, 0x00, 0x0d, 0x0a]));
    expect(lines).toEqual(["\xff\x00\r"]);
  });
});
