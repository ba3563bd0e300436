import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linuxHostResources, parseMeminfo } from "./host-resources.ts";

describe("host resources", () => {
  test("MemTotal and MemAvailable are read in KiB, whatever surrounds them", () => {
    const text = "MemTotal:       24684092 kB\nMemFree:        23154000 kB\nMemAvailable:   24260496 kB\nBuffers:  1 kB\n";
    expect(parseMeminfo(text)).toEqual({ totalBytes: 24684092 * 1024, availableBytes: 24260496 * 1024 });
  });

  test("a meminfo without MemAvailable is an error, not a zero", () => {
    expect(() => parseMeminfo("MemTotal: 1024 kB\n")).toThrow(/MemAvailable/);
  });

  test("the real host: memory within total, free space of a real directory", async () => {
    const { totalBytes, availableBytes } = linuxHostResources.memory();
    expect(totalBytes).toBeGreaterThan(0);
    expect(availableBytes).toBeLessThanOrEqual(totalBytes);
    const dir = mkdtempSync(join(tmpdir(), "sv-free-"));
    try {
      expect(await linuxHostResources.freeBytes(dir)).toBeGreaterThan(0);
      await expect(linuxHostResources.freeBytes(join(dir, "missing"))).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
