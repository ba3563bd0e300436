import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CODEC_NAMES, CODECS } from "../codecs/codec-table.ts";
import { compressedPath, inFlightPath, isInFlightCompression, memoryFileForms, storedMemoryForm } from "./memory-forms.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-forms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("one finished form per codec, named from the codec table, raw first", () => {
  expect(memoryFileForms("standby/memory")).toEqual(["standby/memory", ...CODEC_NAMES.map((c) => `standby/memory${CODECS[c].extension}`)]);
});

test("in-flight compression output is recognised for every codec and no finished form", () => {
  for (const codec of CODEC_NAMES) {
    expect(isInFlightCompression(inFlightPath(compressedPath("memory-ranges", codec)))).toBe(true);
    expect(isInFlightCompression(compressedPath("memory-ranges", codec))).toBe(false);
  }
  expect(isInFlightCompression("memory")).toBe(false);
  expect(isInFlightCompression(".vm.json.1234.tmp")).toBe(false);
});

test("the stored form: raw wins, else the compressed one present, else none", () => {
  expect(storedMemoryForm(dir, "memory")).toBeUndefined();
  writeFileSync(join(dir, "memory.lz4"), "x");
  expect(storedMemoryForm(dir, "memory")).toEqual({ kind: "compressed", codec: "lz4" });
  writeFileSync(join(dir, "memory"), "x");
  expect(storedMemoryForm(dir, "memory")).toEqual({ kind: "raw" });
});
