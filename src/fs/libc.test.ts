import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyFileRange, ErrnoError, exchangePaths, fallocate, punchHole, renameNoReplace, seekData, seekHole } from "./libc.ts";

const MiB = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-libc-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("seekData / seekHole", () => {
  test("walk the data extents of a sparse file", () => {
    const path = join(dir, "sparse");
    const fd = openSync(path, "w+");
    try {
      ftruncateSync(fd, 8 * MiB);
      writeSync(fd, Buffer.alloc(MiB, 7), 0, MiB, 2 * MiB);
      writeSync(fd, Buffer.alloc(MiB, 7), 0, MiB, 5 * MiB);
      const extents: Array<[number, number]> = [];
      for (let start = seekData(fd, 0, path); start !== null; start = seekData(fd, extents.at(-1)![1], path)) {
        extents.push([start, seekHole(fd, start, path)]);
      }
      expect(extents).toEqual([
        [2 * MiB, 3 * MiB],
        [5 * MiB, 6 * MiB],
      ]);
      // End of file counts as a hole.
      expect(seekHole(fd, 0, path)).toBe(0);
      expect(seekData(fd, 6 * MiB, path)).toBeNull();
    } finally {
      closeSync(fd);
    }
  });

  test("a failure is an ErrnoError carrying the errno name and the path", () => {
    const error = (() => {
      try {
        seekHole(987654, 0, "/no/such/fd");
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ErrnoError);
    expect(error).toMatchObject({ code: "EBADF", errno: 9, syscall: "lseek(SEEK_HOLE)", path: "/no/such/fd" });
    expect(String(error)).toContain("EBADF");
  });
});

describe("copyFileRange", () => {
  test("copies a byte range between explicit offsets", () => {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    writeFileSync(src, "0123456789");
    writeFileSync(dst, "..........");
    const inFd = openSync(src, "r");
    const outFd = openSync(dst, "r+");
    try {
      expect(copyFileRange(inFd, 2, outFd, 5, 4, { src, dst })).toBe(4);
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
    expect(readFileSync(dst, "utf8")).toBe(".....2345.");
  });
});

describe("fallocate / punchHole", () => {
  test("fallocate reserves the blocks of a range keeping its data; a punched hole frees them and reads as zeros", () => {
    const path = join(dir, "reserved");
    const fd = openSync(path, "w+");
    try {
      writeSync(fd, Buffer.alloc(MiB, 7), 0, MiB, 0);
      fallocate(fd, 0, 8 * MiB, path);
      const reserved = fstatSync(fd);
      expect(reserved.size).toBe(8 * MiB);
      expect(reserved.blocks * 512).toBeGreaterThanOrEqual(8 * MiB);
      expect(readFileSync(path).subarray(0, MiB)).toEqual(Buffer.alloc(MiB, 7));

      punchHole(fd, MiB, 7 * MiB, path);
      const punched = fstatSync(fd);
      expect(punched.size).toBe(8 * MiB);
      expect(punched.blocks * 512).toBeLessThan(2 * MiB);
      expect(readFileSync(path)).toEqual(Buffer.concat([Buffer.alloc(MiB, 7), Buffer.alloc(7 * MiB)]));
    } finally {
      closeSync(fd);
    }
  });

  test("a failure is an ErrnoError naming fallocate and the path", () => {
    expect(() => fallocate(987654, 0, MiB, "/no/such/fd")).toThrow(expect.objectContaining({ code: "EBADF", syscall: "fallocate", path: "/no/such/fd" }));
    expect(() => punchHole(987654, 0, MiB, "/no/such/fd")).toThrow(ErrnoError);
  });
});

describe("renameNoReplace", () => {
  test("renames onto a free name and refuses an existing one, even an empty dir", () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    mkdirSync(a);
    renameNoReplace(a, b);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(true);

    mkdirSync(a);
    expect(() => renameNoReplace(a, b)).toThrow(expect.objectContaining({ code: "EEXIST", dest: b }));
    expect(existsSync(a)).toBe(true);
  });
});

describe("exchangePaths", () => {
  test("two dirs swap names with their contents; a missing side is ENOENT and changes nothing", () => {
    const a = join(dir, "xa");
    const b = join(dir, "xb");
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, "from"), "a");
    writeFileSync(join(b, "from"), "b");
    exchangePaths(a, b);
    expect([readFileSync(join(a, "from"), "utf8"), readFileSync(join(b, "from"), "utf8")]).toEqual(["b", "a"]);
    expect(() => exchangePaths(a, join(dir, "nothing"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(readFileSync(join(a, "from"), "utf8")).toBe("b");
  });
});
