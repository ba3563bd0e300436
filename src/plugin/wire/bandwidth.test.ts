import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BandwidthError, formatBandwidth, parseBandwidth } from "./bandwidth.ts";

describe("parseBandwidth", () => {
  test("bit and byte forms of the reference", () => {
    expect(parseBandwidth("1Gbps")).toBe(125_000_000);
    expect(parseBandwidth("125MB/s")).toBe(125_000_000);
    expect(parseBandwidth("100 Mbps")).toBe(12_500_000);
    expect(parseBandwidth("1MiB/s")).toBe(1024 * 1024);
    expect(parseBandwidth("0bps")).toBe(0);
  });

  test("anything else is refused with the value quoted", () => {
    for (const bad of ["", "fast", "10", "10Mb", "-1Gbps", "1 Gbps/s", "1e3bps", "1gbps", " 1Gbps"]) {
      expect(() => parseBandwidth(bad)).toThrow(BandwidthError);
    }
  });

  test("a bit rate is an eighth of the same byte rate, for every prefix", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom("", "k", "M", "G", "Ki", "Mi"), (n, p) => {
        expect(parseBandwidth(`${n}${p}bps`)).toBe(Math.floor(parseBandwidth(`${n}${p}B/s`) / 8));
      }),
    );
  });

  test("arbitrary strings either parse to a safe non-negative integer or throw BandwidthError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (s) => {
        try {
          const v = parseBandwidth(s);
          expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(BandwidthError);
        }
      }),
    );
  });
});

test("formatBandwidth is the reference's 1024-based one-decimal form", () => {
  expect(formatBandwidth(125_000_000)).toBe("119.2 MB/s");
  expect(formatBandwidth(512)).toBe("512 B/s");
  expect(formatBandwidth(1024 ** 3)).toBe("1.0 GB/s");
});
