// The guest is untrusted: whatever it sends, the reader keeps at most one frame, resynchronises after noise, and
// costs time linear in the bytes.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { encodeFrame, FrameReader, HEADER_BYTES, MAX_FRAME_PAYLOAD, type Frame } from "./frames.ts";

function readAll(chunks: Uint8Array[]): { frames: Frame[]; reader: FrameReader } {
  const frames: Frame[] = [];
  const reader = new FrameReader((f) => frames.push(f));
  for (const c of chunks) reader.push(c);
  return { frames, reader };
}

/** Noise that cannot start a frame: no "S" byte. */
const noise = fc.uint8Array({ maxLength: 300 }).map((b) => b.map((x) => (x === 0x53 ? 0 : x)));
const frame = fc.record({ type: fc.integer({ min: 0, max: 255 }), id: fc.nat(), payload: fc.uint8Array({ maxLength: 2000 }) });

test("frames separated by noise and split anywhere come out whole and in order", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(noise, frame), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cuts) => {
      const stream = Buffer.concat(items.flatMap(([n, f]) => [n, encodeFrame(f.type, f.id, f.payload)]));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points].map((p, i, all) => stream.subarray(p, all[i + 1] ?? stream.length));
      const { frames, reader } = readAll(chunks);
      expect(frames.map((f) => ({ type: f.type, id: f.id, payload: new Uint8Array(f.payload) }))).toEqual(
        items.map(([, f]) => ({ type: f.type, id: f.id, payload: f.payload })),
      );
      expect(reader.noiseBytes).toBe(items.reduce((sum, [n]) => sum + n.length, 0));
    }),
  );
});

test("frames up to the limit arrive whole however they are split, and small ones after them", () => {
  fc.assert(
    fc.property(fc.integer({ min: 60_000, max: MAX_FRAME_PAYLOAD }), fc.integer({ min: 1, max: 300_000 }), (size, piece) => {
      const big = new Uint8Array(size).fill(7);
      const stream = Buffer.concat([encodeFrame(0x82, 1, big), encodeFrame(0x84, 1, Buffer.from("0"))]);
      const chunks = Array.from({ length: Math.ceil(stream.length / piece) }, (_, i) => stream.subarray(i * piece, (i + 1) * piece));
      const { frames } = readAll(chunks);
      expect(frames.map((f) => [f.type, f.payload.length])).toEqual([[0x82, size], [0x84, 1]]);
    }),
    { numRuns: 20 },
  );
});

test("a header announcing more than the limit is skipped as noise, the next frame still arrives", () => {
  const bogus = Buffer.from(encodeFrame(1, 1).subarray(0, HEADER_BYTES));
  bogus.writeUInt32LE(MAX_FRAME_PAYLOAD + 1, 8);
  const { frames } = readAll([bogus, encodeFrame(0x84, 7, Buffer.from("0"))]);
  expect(frames.map((f) => f.id)).toEqual([7]);
});

test("200 MB of garbage is consumed in linear time without holding more than one frame", () => {
  const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const { reader, frames } = readAll([]);
  const before = process.memoryUsage().rss;
  const started = performance.now();
  for (let sent = 0; sent < 200 * 1024 * 1024; sent += chunk.length) reader.push(chunk);
  const seconds = (performance.now() - started) / 1000;
  const grew = process.memoryUsage().rss - before;
  console.log(`frame reader: 200 MB of random bytes in ${seconds.toFixed(2)} s, RSS +${(grew / 1048576).toFixed(1)} MiB, ${frames.length} accidental frames`);
  expect(grew).toBeLessThan(64 * 1024 * 1024);
  const held = reader.noiseBytes + frames.reduce((s, f) => s + HEADER_BYTES + f.payload.length, 0);
  expect(200 * 1024 * 1024 - held).toBeLessThanOrEqual(HEADER_BYTES + MAX_FRAME_PAYLOAD);
});
