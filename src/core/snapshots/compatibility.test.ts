import { expect, test } from "bun:test";
import fc from "fast-check";
import { compareVersions } from "./compatibility.ts";

test("versions compare by their numeric parts", () => {
  expect(compareVersions("7.2.22", "8.0")).toBe(-1);
  expect(compareVersions("8.2.0", "8.2")).toBe(0);
  expect(compareVersions("10.0", "9.2.1")).toBe(1);
  expect(compareVersions("v48.0", "48.1")).toBe(-1); // a non-numeric part counts as 0
});

test("the order is antisymmetric and matches the numbers it is made of", () => {
  const version = fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(version, version, (a, b) => {
      const [x, y] = [a.join("."), b.join(".")];
      expect(compareVersions(x, y)).toBe(-compareVersions(y, x));
      const width = Math.max(a.length, b.length);
      const pad = (v: number[]) => [...v, ...Array(width - v.length).fill(0)];
      const lexical = pad(a).findIndex((n, i) => n !== pad(b)[i]);
      expect(compareVersions(x, y)).toBe(lexical < 0 ? 0 : Math.sign(pad(a)[lexical]! - pad(b)[lexical]!));
    }),
  );
});
