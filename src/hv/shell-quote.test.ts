import { expect, test } from "bun:test";
import fc from "fast-check";
import { shellQuote } from "./shell-quote.ts";

test("sh reads every quoted word back as exactly that word", () => {
  // Each word goes through a real sh, so quoting mistakes (a quote, $, `, \, newline) show as a different word.
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), { minLength: 1, maxLength: 4 }), (words) => {
      const script = `printf '%s\\0' ${words.map(shellQuote).join(" ")}`;
      const out = Bun.spawnSync(["sh", "-c", script]).stdout.toString();
      expect(out.split("\0").slice(0, -1)).toEqual(words);
    }),
    { numRuns: 100, seed: 12 },
  );
});
