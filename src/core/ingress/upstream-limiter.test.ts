import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { UpstreamLimiter } from "./upstream-limiter.ts";

/** Lets every pending acquire that can proceed do so (each is a few promise hops). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe("UpstreamLimiter", () => {
  test("never more than `limit` slots at once, every request gets one in arrival order, idle at the end", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 30 }), fc.array(fc.nat(), { maxLength: 60 }), async (limit, requests, picks) => {
        const limiter = new UpstreamLimiter(limit);
        const held: { n: number; free: () => void }[] = [];
        const order: number[] = [];
        for (let n = 0; n < requests; n++) {
          void limiter.acquire().then((free) => {
            order.push(n);
            held.push({ n, free });
          });
        }
        await settle();
        for (const pick of [...picks, ...Array(requests).fill(0)]) {
          expect(held.length).toBeLessThanOrEqual(limit);
          if (held.length === 0) break;
          held.splice(pick % held.length, 1)[0]!.free();
          await settle();
        }
        expect(order).toEqual(Array.from({ length: requests }, (_, n) => n));
        expect(limiter.idle).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test("freeing a slot twice frees it once", async () => {
    const limiter = new UpstreamLimiter(1);
    const free = await limiter.acquire();
    const got: number[] = [];
    void limiter.acquire().then(() => got.push(2));
    void limiter.acquire().then(() => got.push(3));
    free();
    free();
    await settle();
    expect(got).toEqual([2]);
  });
});
