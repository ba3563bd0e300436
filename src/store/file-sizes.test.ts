import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, ftruncateSync, linkSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocatedSize, payloadSizes } from "./file-sizes.ts";

const apparentSize = async (path: string) => (await payloadSizes(path)).sizeBytes;

const MiB = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-file-sizes-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("payloadSizes: apparent size", () => {
  test("sums regular files in nested dirs, not symlinks", async () => {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "three"), "123");
    writeFileSync(join(dir, "a", "b", "five"), "12345");
    symlinkSync("/etc/passwd", join(dir, "a", "link-out"));
    expect(await apparentSize(dir)).toBe(8);
    expect(await apparentSize(join(dir, "a", "b", "five"))).toBe(5);
  });

  test("a missing path is an error", async () => {
    await expect(apparentSize(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("allocatedSize", () => {
  test("a sparse file's allocated size is its data, well below its apparent size", async () => {
    const path = join(dir, "disk.raw");
    const fd = openSync(path, "w");
    ftruncateSync(fd, 64 * MiB);
    writeSync(fd, Buffer.alloc(MiB, 1), 0, MiB, 10 * MiB);
    closeSync(fd);

    expect(await apparentSize(path)).toBe(64 * MiB);
    expect(await allocatedSize(path)).toBeGreaterThanOrEqual(MiB);
    expect(await allocatedSize(path)).toBeLessThan(2 * MiB);
  });

  test("counts hard links inside the tree once", async () => {
    writeFileSync(join(dir, "memory"), Buffer.alloc(MiB, 1));
    linkSync(join(dir, "memory"), join(dir, "memory-link"));
    const blocks = statSync(join(dir, "memory")).blocks * 512;
    expect(await allocatedSize(dir)).toBe(blocks);
    expect(await apparentSize(dir)).toBe(2 * MiB);
  });
});
