import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticMemory } from "./synthetic-memory.ts";

const dir = mkdtempSync(join(tmpdir(), "synthetic-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pages are a seeded mix of about 61% zero, 30% text and 9% random", async () => {
  const bytes = 32 << 20;
  await writeSyntheticMemory(join(dir, "a"), bytes);
  await writeSyntheticMemory(join(dir, "b"), bytes);
  const a = readFileSync(join(dir, "a"));
  expect(a.length).toBe(bytes);
  expect(Buffer.compare(a, readFileSync(join(dir, "b")))).toBe(0);
  let zero = 0;
  let text = 0;
  for (let at = 0; at < bytes; at += 4096) {
    const page = a.subarray(at, at + 4096);
    if (page.every((b) => b === 0)) zero++;
    else if (page.every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))) text++;
  }
  const pages = bytes / 4096;
  expect(zero / pages).toBeGreaterThan(0.5);
  expect(zero / pages).toBeLessThan(0.72);
  expect(text / pages).toBeGreaterThan(0.2);
  expect(text / pages).toBeLessThan(0.4);
});
