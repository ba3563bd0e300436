import { expect, test } from "bun:test";
import fc from "fast-check";
import { BoundedPipeline } from "./bounded-pipeline.ts";

test("results come out in start order, never more than `width` in flight, whatever order they finish in", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), async (width, delays) => {
      const pipeline = new BoundedPipeline<number>(width);
      let inFlight = 0;
      let most = 0;
      const out: number[] = [];
      for (const [i, delay] of delays.entries()) {
        out.push(
          ...(await pipeline.push(async () => {
            most = Math.max(most, ++inFlight);
            for (let t = 0; t < delay; t++) await Promise.resolve();
            inFlight--;
            return i;
          })),
        );
      }
      out.push(...(await pipeline.drain()));
      expect(out).toEqual(delays.map((_, i) => i));
      expect(most).toBeLessThanOrEqual(width);
    }),
  );
});

test("a failure surfaces when its turn comes, in order", async () => {
  const pipeline = new BoundedPipeline<number>(2);
  await pipeline.push(async () => 1);
  await pipeline.push(async () => {
    throw new Error("second failed");
  });
  await expect(pipeline.push(async () => 3)).resolves.toEqual([1]);
  await expect(pipeline.drain()).rejects.toThrow("second failed");
});
