import { expect, test } from "bun:test";
import { ZstdFormatError, ZstdFrameCheck } from "./zstd-frame-check.ts";

function cli(args: string, input: Uint8Array): Uint8Array {
  const run = Bun.spawnSync(["sh", "-c", `zstd -q -c ${args}`], { stdin: input });
  expect(run.exitCode).toBe(0);
  return run.stdout;
}

function check(stream: Uint8Array, pieceBytes: number): void {
  const c = new ZstdFrameCheck();
  for (let at = 0; at < stream.length; at += pieceBytes) c.push(stream.subarray(at, at + pieceBytes));
  c.end();
}

const text = new TextEncoder().encode("zstd frame check ".repeat(20_000));
const random = crypto.getRandomValues(new Uint8Array(300_000)); // raw blocks, several 128 KiB blocks

test("whole streams pass: CLI frames (checksum, no content size), ours, RLE blocks, skippable frames", () => {
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]);
  const streams = [
    cli("-1", text),
    cli("-19 --no-check", random),
    Bun.zstdCompressSync(new Uint8Array(1 << 20), { level: 1 }),
    Buffer.concat([Bun.zstdCompressSync(text), skippable, cli("-3", random), Bun.zstdCompressSync(new Uint8Array(0))]),
  ];
  for (const stream of streams) for (const piece of [1, 7, 4096, stream.length]) check(stream, piece);
});

test("every cut inside a frame fails, every cut between frames passes", () => {
  const a = cli("-1", text.subarray(0, 3000));
  const b = Bun.zstdCompressSync(random.subarray(0, 2000));
  const stream = Buffer.concat([a, b]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const atBoundary = cut === a.length || cut === stream.length;
    const run = () => check(stream.subarray(0, cut), 5);
    if (atBoundary) run();
    else expect(run).toThrow(ZstdFormatError);
  }
});

test("bytes that are not zstd are refused at once", () => {
  expect(() => new ZstdFrameCheck().push(new TextEncoder().encode("hello"))).toThrow(ZstdFormatError);
});
