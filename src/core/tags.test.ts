import { describe, expect, test } from "bun:test";
import { TagsError, validateTags } from "./tags.ts";

const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));

describe("validateTags", () => {
  test("accepts every allowed character, empty values and the length limits, and returns a copy", () => {
    const tags = {
      "env": "prod",
      "a.b_c:d/e=f+g@h-i j": "A-Z a-z 0-9 _.:/=+@-",
      "empty": "",
      ["k".repeat(128)]: "v".repeat(256),
    };
    const out = validateTags(tags);
    expect(out).toEqual(tags);
    expect(out).not.toBe(tags);
  });

  test("accepts an empty object and exactly 50 entries", () => {
    expect(validateTags({})).toEqual({});
    expect(Object.keys(validateTags(entries(50)))).toHaveLength(50);
  });

  test("a __proto__ key is kept as an own tag, not a prototype", () => {
    const out = validateTags(JSON.parse('{"__proto__": "x"}'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.entries(out)).toEqual([["__proto__", "x"]]);
  });

  test.each([
    ["tags: too many entries: 51 (max 50)", entries(51)],
    ['tags: key "" length 0 out of range [1,128]', { "": "v" }],
    [`tags: key "${"k".repeat(129)}" length 129 out of range [1,128]`, { ["k".repeat(129)]: "v" }],
    ['tags: key "bad!" contains invalid characters', { "bad!": "v" }],
    ['tags: key "tab\\there" contains invalid characters', { "tab\there": "v" }],
    ['tags: key "café" contains invalid characters', { "café": "v" }],
    ['tags: value for key "k" length 257 out of range [0,256]', { k: "v".repeat(257) }],
    ['tags: value for key "k" contains invalid characters', { k: "semi;colon" }],
    ['tags: value for key "k" contains invalid characters', { k: "new\nline" }],
    ['tags: value for key "k" must be a string', { k: 1 }],
    ['tags: value for key "k" must be a string', { k: null }],
    ['tags: value for key "k" must be a string', { k: { nested: "x" } }],
  ] as const)("%s", (message, tags) => {
    expect(() => validateTags(tags)).toThrow(new TagsError(message));
  });

  test("of several bad keys the first in sorted order is reported", () => {
    expect(() => validateTags({ "z!": "v", "a!": "v", m: "ok" })).toThrow('tags: key "a!" contains invalid characters');
  });

  test("lengths count characters, not UTF-16 units", () => {
    // 128 astral characters are 256 UTF-16 units: the length check passes and the character check rejects.
    expect(() => validateTags({ ["😀".repeat(128)]: "v" })).toThrow("contains invalid characters");
    expect(() => validateTags({ ["😀".repeat(129)]: "v" })).toThrow("length 129 out of range");
  });

  test.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "env=prod"],
    ["a number", 42],
    ["an array", ["a", "b"]],
    ["a Map", new Map([["a", "b"]])],
    ["a Date", new Date(0)],
  ])(
    "%s is not a tag object",
    (_, tags) => {
      expect(() => validateTags(tags)).toThrow(new TagsError("tags: must be an object of string values"));
    },
  );

  test("the message names the given field", () => {
    expect(() => validateTags({ "bad!": "v" }, "metadata")).toThrow(new TagsError('metadata: key "bad!" contains invalid characters'));
    expect(() => validateTags([], "tags filter")).toThrow("tags filter: must be an object of string values");
  });
});
