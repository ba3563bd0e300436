import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ByteSizeError, formatByteSize, parseByteSize } from "./byte-size.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe("parseByteSize", () => {
  // Cases mirror go-units' TestRAMInBytes, plus the API's usual spellings.
  test.each([
    ["32", 32],
    ["32b", 32],
    ["32B", 32],
    ["32 B", 32],
    ["0", 0],
    ["32k", 32 * KiB],
    ["32K", 32 * KiB],
    ["32kb", 32 * KiB],
    ["32Kb", 32 * KiB],
    ["32Kib", 32 * KiB],
    ["32KIB", 32 * KiB],
    ["100KB", 100 * KiB],
    ["32Mb", 32 * MiB],
    ["512MB", 512 * MiB],
    ["256MiB", 256 * MiB],
    ["512 MB", 512 * MiB],
    ["512mb", 512 * MiB],
    ["32Gb", 32 * GiB],
    ["1GB", GiB],
    ["2G", 2 * GiB],
    ["2g", 2 * GiB],
    ["1gib", GiB],
    ["32Tb", 32 * TiB],
    ["1TB", TiB],
    ["2PB", 2 * 1024 * TiB],
    ["1.5GB", 1.5 * GiB],
    ["0.5G", 512 * MiB],
    [".5G", 512 * MiB],
    ["5.G", 5 * GiB],
    ["1024", 1024],
    ["0.3k", 307], // go-units truncates fractions of a byte (0.3 * 1024 = 307.2)
    ["1.9", 1],
  ] as const)("%p is %p bytes", (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  test.each([
    ["", `invalid size "": empty`],
    ["-1", `invalid size "-1": must not be negative`],
    ["-512MB", `invalid size "-512MB": must not be negative`],
    ["12XB", `invalid size "12XB": unknown unit "XB"`],
    ["1kibb", `invalid size "1kibb": unknown unit "kibb"`],
    ["1Bb", `invalid size "1Bb": unknown unit "Bb"`],
    ["1kbb", `invalid size "1kbb": unknown unit "kbb"`],
    ["1mi", `invalid size "1mi": unknown unit "mi"`],
    ["1d", `invalid size "1d": unknown unit "d"`],
  ] as const)("%p is rejected", (input, message) => {
    expect(() => parseByteSize(input)).toThrow(new ByteSizeError(message));
  });

  test.each(["NaN", "abc", "GB", " 1GB", "1GB ", "1  GB", "1 ", ".", "1.2.3MB", "+1GB", "0x10", "Infinity", "1,5GB", "1e3"])(
    "%p is not a size",
    (input) => {
      expect(() => parseByteSize(input)).toThrow(ByteSizeError);
      expect(() => parseByteSize(input)).toThrow(`invalid size ${JSON.stringify(input)}: `);
    },
  );

  test("sizes beyond exact integers are rejected", () => {
    expect(() => parseByteSize("9000PB")).toThrow(new ByteSizeError(`invalid size "9000PB": too large`));
    expect(parseByteSize("7PB")).toBe(7 * 1024 * TiB);
  });
});

describe("formatByteSize", () => {
  test.each([
    [0, "0B"],
    [123, "123B"],
    [1023, "1023B"],
    [KiB, "1KB"],
    [100 * KiB, "100KB"],
    [1536, "1536B"],
    [512 * MiB, "512MB"],
    [GiB, "1GB"],
    [1.5 * GiB, "1536MB"],
    [GiB + KiB, "1048577KB"],
    [GiB + 1, "1073741825B"],
    [2 * TiB, "2TB"],
    [3 * 1024 * TiB, "3PB"],
  ] as const)("%p bytes is %p", (bytes, text) => {
    expect(formatByteSize(bytes)).toBe(text);
  });

  test("round trips through parseByteSize", () => {
    for (const bytes of [0, 1, 999, 1024, 1536, 4096, 64 * MiB, 1.5 * GiB, 3 * GiB + 5 * MiB, 10 * TiB, 2 ** 53 - 1]) {
      expect(parseByteSize(formatByteSize(bytes))).toBe(bytes);
    }
    for (const text of ["512MB", "1GB", "100KB", "123B", "1536MB", "2TB"]) {
      expect(formatByteSize(parseByteSize(text))).toBe(text);
    }
  });

  test("negative, fractional and unsafe values are RangeErrors", () => {
    expect(() => formatByteSize(-1)).toThrow(RangeError);
    expect(() => formatByteSize(1.5)).toThrow(RangeError);
    expect(() => formatByteSize(Number.NaN)).toThrow(RangeError);
    expect(() => formatByteSize(2 ** 53)).toThrow(RangeError);
  });
});

describe("byte sizes, for any input", () => {
  test("every safe non-negative integer round trips through its formatted form", () => {
    fc.assert(fc.property(fc.maxSafeNat(), (bytes) => expect(parseByteSize(formatByteSize(bytes))).toBe(bytes)));
  });

  test("any string parses to a safe non-negative integer or fails with a ByteSizeError quoting it", () => {
    const sizeLike = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.tuple(fc.double({ min: 0, max: 1e20, noNaN: true }), fc.constantFrom("", "b", "k", "KB", "MiB", "g", "TB", "PB", "pib", "XB")).map(
        ([n, unit]) => `${n}${unit}`,
      ),
    );
    fc.assert(
      fc.property(sizeLike, (text) => {
        try {
          const bytes = parseByteSize(text);
          expect(Number.isSafeInteger(bytes) && bytes >= 0).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ByteSizeError);
          expect((err as Error).message).toStartWith(`invalid size ${JSON.stringify(text)}`);
        }
      }),
    );
  });
});
