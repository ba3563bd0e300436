import { describe, expect, test } from "bun:test";
import { formatGoDuration, formatGoDurationNs, GoDurationError, parseGoDuration, parseGoDurationNs } from "./go-duration.ts";

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const S = 1000n * MS;
const M = 60n * S;
const H = 60n * M;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

// Go's own parseDurationTests (src/time/time_test.go).
const parseCases: [string, bigint][] = [
  ["0", 0n],
  ["5s", 5n * S],
  ["30s", 30n * S],
  ["1478s", 1478n * S],
  ["-5s", -5n * S],
  ["+5s", 5n * S],
  ["-0", 0n],
  ["+0", 0n],
  ["5.0s", 5n * S],
  ["5.6s", 5n * S + 600n * MS],
  ["5.s", 5n * S],
  [".5s", 500n * MS],
  ["1.0s", 1n * S],
  ["1.00s", 1n * S],
  ["1.004s", 1n * S + 4n * MS],
  ["1.0040s", 1n * S + 4n * MS],
  ["100.00100s", 100n * S + 1n * MS],
  ["10ns", 10n * NS],
  ["11us", 11n * US],
  ["12\u00b5s", 12n * US], // micro sign
  ["12\u03bcs", 12n * US], // Greek mu
  ["13ms", 13n * MS],
  ["14s", 14n * S],
  ["15m", 15n * M],
  ["16h", 16n * H],
  ["3h30m", 3n * H + 30n * M],
  ["10.5s4m", 4n * M + 10n * S + 500n * MS],
  ["-2m3.4s", -(2n * M + 3n * S + 400n * MS)],
  ["1h2m3s4ms5us6ns", 1n * H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
  ["39h9m14.425s", 39n * H + 9n * M + 14n * S + 425n * MS],
  ["52763797000ns", 52763797000n * NS],
  ["0.3333333333333333333h", 20n * M], // more than 9 fraction digits (Go issue 6617)
  ["9007199254740993ns", (1n << 53n) + 1n], // not representable as a float64
  ["9223372036854775807ns", INT64_MAX],
  ["9223372036854775.807us", INT64_MAX],
  ["9223372036s854ms775us807ns", INT64_MAX],
  ["-9223372036854775808ns", INT64_MIN],
  ["-9223372036854775.808us", INT64_MIN],
  ["-9223372036s854ms775us808ns", INT64_MIN],
  ["-2562047h47m16.854775808s", INT64_MIN], // Go issue 48629
  ["0.100000000000000000000h", 6n * M], // huge string, Go issue 15011
  ["0.830103483285477580700h", 49n * M + 48n * S + 372539827n * NS], // first overflow check in leadingFraction
];

// Go's parseDurationErrorTests, plus the messages for missing and unknown units.
const invalidCases: [string, string][] = [
  ["", `time: invalid duration ""`],
  ["3", `time: missing unit in duration "3"`],
  ["-", `time: invalid duration "-"`],
  ["s", `time: invalid duration "s"`],
  [".", `time: invalid duration "."`],
  ["-.", `time: invalid duration "-."`],
  [".s", `time: invalid duration ".s"`],
  ["+.s", `time: invalid duration "+.s"`],
  ["1d", `time: unknown unit "d" in duration "1d"`],
  ["1", `time: missing unit in duration "1"`],
  ["x", `time: invalid duration "x"`],
  ["1h 30m", `time: unknown unit "h " in duration "1h 30m"`],
  [" 1h", `time: invalid duration " 1h"`],
  ["--1s", `time: invalid duration "--1s"`],
  ["1s-", `time: unknown unit "s-" in duration "1s-"`],
  ["1S", `time: unknown unit "S" in duration "1S"`],
  // Non-ASCII is quoted byte by byte as Go does (U+0085 is C2 85 in UTF-8).
  ["\x85\x85", `time: invalid duration "\\xc2\\x85\\xc2\\x85"`],
  ["\uFFFD", `time: invalid duration "\\xef\\xbf\\xbd"`],
  ["\uFFFD hello \uFFFD world", `time: invalid duration "\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"`],
  ["1\u00e9", `time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"`],
  ["1constructor", `time: unknown unit "constructor" in duration "1constructor"`],
  ["1__proto__", `time: unknown unit "__proto__" in duration "1__proto__"`],
  ['1"', `time: unknown unit "\\"" in duration "1\\""`],
  // Overflow.
  ["9223372036854775810ns", `time: invalid duration "9223372036854775810ns"`],
  ["9223372036854775808ns", `time: invalid duration "9223372036854775808ns"`],
  ["-9223372036854775809ns", `time: invalid duration "-9223372036854775809ns"`],
  ["9223372036854776us", `time: invalid duration "9223372036854776us"`],
  ["3000000h", `time: invalid duration "3000000h"`],
  ["9223372036854775.808us", `time: invalid duration "9223372036854775.808us"`],
  ["9223372036854ms775us808ns", `time: invalid duration "9223372036854ms775us808ns"`],
  ["99999999999999999999s", `time: invalid duration "99999999999999999999s"`],
];

// Go's durationTests (String()).
const formatCases: [bigint, string][] = [
  [0n, "0s"],
  [1n * NS, "1ns"],
  [1100n * NS, "1.1\u00b5s"],
  [2200n * US, "2.2ms"],
  [3300n * MS, "3.3s"],
  [4n * M + 5n * S, "4m5s"],
  [4n * M + 5001n * MS, "4m5.001s"],
  [5n * H + 6n * M + 7001n * MS, "5h6m7.001s"],
  [8n * M + 1n * NS, "8m0.000000001s"],
  [INT64_MAX, "2562047h47m16.854775807s"],
  [INT64_MIN, "-2562047h47m16.854775808s"],
];

describe("parseGoDurationNs", () => {
  test.each(parseCases)("%p", (input, want) => {
    expect(parseGoDurationNs(input)).toBe(want);
  });

  test.each(invalidCases)("%p is rejected", (input, message) => {
    expect(() => parseGoDurationNs(input)).toThrow(new GoDurationError(message));
  });

  test("the error is a GoDurationError", () => {
    let caught: unknown;
    try {
      parseGoDurationNs("1d");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GoDurationError);
    expect((caught as Error).name).toBe("GoDurationError");
  });
});

describe("formatGoDurationNs", () => {
  test.each(formatCases)("%p", (d, want) => {
    expect(formatGoDurationNs(d)).toBe(want);
  });

  test.each(formatCases)("%p parses back", (d, text) => {
    expect(parseGoDurationNs(text)).toBe(d);
  });

  test("outside int64 is a RangeError", () => {
    expect(() => formatGoDurationNs(INT64_MAX + 1n)).toThrow(RangeError);
    expect(() => formatGoDurationNs(INT64_MIN - 1n)).toThrow(RangeError);
  });
});

describe("parseGoDuration (milliseconds)", () => {
  test.each([
    ["0", 0],
    ["90s", 90_000],
    ["1h30m", 5_400_000],
    ["1m", 60_000],
    ["168h", 604_800_000],
    ["-1m30s", -90_000],
    ["500ms", 500],
    ["2.5ms", 2.5],
    ["1.5us", 0.0015],
    ["2ns", 0.000002],
    ["1h2m3s4ms5us6ns", 3_723_004.005006],
  ] as const)("%p is %p ms", (input, ms) => {
    expect(parseGoDuration(input)).toBe(ms);
  });

  test("invalid input throws GoDurationError", () => {
    expect(() => parseGoDuration("1d")).toThrow(GoDurationError);
    expect(() => parseGoDuration("")).toThrow(`time: invalid duration ""`);
  });
});

describe("formatGoDuration (milliseconds)", () => {
  test.each([
    [0, "0s"],
    [-0, "0s"],
    [1500, "1.5s"],
    [90_000, "1m30s"],
    [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"],
    [86_400_000, "24h0m0s"],
    [604_800_000, "168h0m0s"],
    [500, "500ms"],
    [2.5, "2.5ms"],
    [0.0015, "1.5\u00b5s"],
    [0.000002, "2ns"],
    [-90_000, "-1m30s"],
    [60_000, "1m0s"],
    [1, "1ms"],
    [59_999, "59.999s"],
    [0.0000004, "0s"], // rounds to the nearest nanosecond
    [0.0000006, "1ns"],
    [9_000_000_000_001, "2500000h0m0.001s"], // whole ms beyond 2^53 ns stay exact
  ] as const)("%p ms is %p", (ms, want) => {
    expect(formatGoDuration(ms)).toBe(want);
  });

  test("round trips through parseGoDuration", () => {
    for (const ms of [0, 1, 999, 1000, 61_000, 3_599_999, 3_600_000, 86_400_000, 0.001, 1.25, -42_000]) {
      expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
    }
  });

  test("non-finite and out-of-range values are RangeErrors", () => {
    expect(() => formatGoDuration(Number.NaN)).toThrow(RangeError);
    expect(() => formatGoDuration(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => formatGoDuration(1e13)).toThrow(RangeError); // > ~292 years
  });
});
