// Reference §10 items 22–27: normalisation, precedence, opt-in, explicit disable.
import { describe, expect, test } from "bun:test";
import { DomainError } from "../errors.ts";
import { normalizeCompression, resolveCompression, standbyPlan } from "./compression-policy.ts";

describe("normalizeCompression (item 22)", () => {
  test("defaults and case", () => {
    expect(normalizeCompression({ enabled: true })).toEqual({ enabled: true, algorithm: "zstd", level: 1 });
    expect(normalizeCompression({ enabled: true, algorithm: "ZSTD" })).toEqual({ enabled: true, algorithm: "zstd", level: 1 });
    expect(normalizeCompression({ enabled: true, algorithm: "lz4" })).toEqual({ enabled: true, algorithm: "lz4", level: 0 });
    expect(normalizeCompression({ enabled: true, algorithm: "lz4", level: 9 })).toEqual({ enabled: true, algorithm: "lz4", level: 9 });
    expect(normalizeCompression({ enabled: false, algorithm: "lz4", level: 3 })).toEqual({ enabled: false });
  });

  test("out-of-range levels and unknown algorithms are 400s, even when disabled", () => {
    const bad = [
      { enabled: true, algorithm: "zstd", level: 25 },
      { enabled: true, algorithm: "zstd", level: 0 },
      { enabled: true, algorithm: "lz4", level: 10 },
      { enabled: false, algorithm: "brotli" },
      { enabled: true, level: 1.5 },
    ];
    for (const input of bad) {
      expect(() => normalizeCompression(input, "invalid_snapshot_compression")).toThrow(DomainError);
      try {
        normalizeCompression(input, "invalid_snapshot_compression");
      } catch (err) {
        expect((err as DomainError).code).toBe("invalid_snapshot_compression");
        expect((err as DomainError).kind).toBe("invalid_request");
      }
    }
    expect(() => normalizeCompression({ enabled: true, algorithm: "zstd", level: 25 })).toThrow(
      "level must be between 1 and 19 for zstd, got 25",
    );
    expect(() => normalizeCompression({ enabled: true, algorithm: "gzip" })).toThrow('algorithm must be one of zstd or lz4, got "gzip"');
  });
});

describe("resolveCompression", () => {
  const zstd4 = normalizeCompression({ enabled: true, algorithm: "zstd", level: 4 });
  const lz4 = normalizeCompression({ enabled: true, algorithm: "lz4" });
  const zstd2 = normalizeCompression({ enabled: true, algorithm: "zstd", level: 2 });
  const off = normalizeCompression({ enabled: false });

  test("request > instance > server (item 23)", () => {
    expect(resolveCompression(zstd4, lz4, zstd2)).toEqual({ enabled: true, algorithm: "zstd", level: 4 });
    expect(resolveCompression(undefined, lz4, zstd2)).toEqual({ enabled: true, algorithm: "lz4", level: 0 });
    expect(resolveCompression(undefined, undefined, zstd2)).toEqual({ enabled: true, algorithm: "zstd", level: 2 });
  });

  test("opt-in only: nothing configured means no compression (item 24)", () => {
    expect(resolveCompression(undefined, undefined, undefined)).toBeUndefined();
    expect(resolveCompression(off, undefined, undefined)).toBeUndefined();
  });

  test("an explicit disable at a higher level wins over enabled defaults (item 25)", () => {
    expect(resolveCompression(off, lz4, zstd2)).toBeUndefined();
    expect(resolveCompression(undefined, off, zstd2)).toBeUndefined();
  });
});

describe("standbyPlan: request → instance policy → server default", () => {
  const zstd = { enabled: true, algorithm: "zstd", level: 3 } as const;
  const lz4 = { enabled: true, algorithm: "lz4", level: 0 } as const;

  test("the first configured policy wins, and its delay comes from the request, else the instance", () => {
    expect(standbyPlan({ compression: lz4, standbyCompressionDelayMs: 5_000 }, { compression: zstd }, undefined)).toEqual({ policy: zstd, delayMs: 5_000 });
    expect(standbyPlan({ compression: lz4 }, { compressionDelayMs: 10 }, zstd)).toEqual({ policy: lz4, delayMs: 10 });
    expect(standbyPlan(null, {}, zstd)).toEqual({ policy: zstd, delayMs: 0 });
  });

  test("an explicit disable above wins over enabled defaults below; nothing configured is no plan", () => {
    expect(standbyPlan({ compression: lz4 }, { compression: { enabled: false } }, zstd)).toBeUndefined();
    expect(standbyPlan({ compression: { enabled: false } }, {}, zstd)).toBeUndefined();
    expect(standbyPlan(null, { compressionDelayMs: 1_000 }, undefined)).toBeUndefined();
  });
});
