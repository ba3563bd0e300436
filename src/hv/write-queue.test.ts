import { expect, test } from "bun:test";
import fc from "fast-check";
import { WriteQueue } from "./write-queue.ts";

/** A socket that takes `takes[i]` bytes on its i-th write, cycling (-1: closed for now), like a full kernel buffer. */
function socketTaking(takes: number[]) {
  const received: number[] = [];
  let call = 0;
  const write = (bytes: Uint8Array) => {
    const take = Math.min(bytes.length, takes[call++ % takes.length]!);
    received.push(...bytes.subarray(0, Math.max(0, take)));
    return take;
  };
  return { received, write };
}

test("every byte pushed reaches the socket once, in order, however little each write takes", () => {
  const pushesArb = fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 20 });
  const takesArb = fc.array(fc.integer({ min: -1, max: 30 }), { minLength: 1 });
  fc.assert(
    fc.property(pushesArb, takesArb, (pushes, takes) => {
      const socket = socketTaking(takes);
      const queue = new WriteQueue(socket.write);
      const expected = pushes.flatMap((b) => [...b]);
      for (const bytes of pushes) {
        queue.push(bytes);
        bytes.fill(0xee); // the caller reuses its buffer
      }
      // The drain handler's calls: within one cycle of `takes`, a socket that ever takes a byte takes one.
      const rounds = expected.length * takes.length + 1;
      for (let round = 0; round < rounds && socket.received.length < expected.length; round++) queue.flush();
      expect(socket.received).toEqual(takes.some((t) => t > 0) ? expected : []);
    }),
    { numRuns: 300 },
  );
});

test("clear drops what was not written yet", () => {
  const received: number[] = [];
  let open = false;
  const queue = new WriteQueue((bytes) => {
    if (!open) return 0;
    received.push(...bytes);
    return bytes.length;
  });
  queue.push(new Uint8Array([1, 2]));
  queue.clear();
  open = true;
  queue.push(new Uint8Array([3]));
  expect(received).toEqual([3]);
});
