import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyTree } from "./tree-copy.ts";

let dir: string;
let src: string;
let dst: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-tree-copy-"));
  src = join(dir, "src");
  dst = join(dir, "dst");
  mkdirSync(src);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(rel: string, content: string): void {
  mkdirSync(join(src, rel, ".."), { recursive: true });
  writeFileSync(join(src, rel), content);
}

/** Every path under `root`, relative, sorted. */
function listTree(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

/** A listening Unix socket at `path`, as a running guest's control socket would be. */
function listenUnix(path: string): { stop(): void } {
  return Bun.listen({ unix: path, socket: { data() {} } });
}

describe("copyTree", () => {
  test("copies files, dirs and modes; skips top-level logs/, sockets, in-flight temp files and caller skips", async () => {
    put("metadata.json", "{}");
    put("overlay.raw", "disk");
    put("standby/memory", "mem");
    put("standby/memory.zst.tmp", "partial");
    put("standby/memory.lz4.tmp", "partial");
    put("logs/serial.log", "boot");
    put("nested/logs/kept.log", "kept: only the top-level logs/ is runtime state");
    put("volumes/skip-me/data", "x");
    const qmp = listenUnix(join(src, "qmp.sock"));
    expect(lstatSync(join(src, "qmp.sock")).isSocket()).toBe(true);
    chmodSync(join(src, "standby"), 0o750);
    chmodSync(join(src, "overlay.raw"), 0o600);
    chmodSync(src, 0o711);

    const result = await copyTree(src, dst, { skip: (rel) => rel === "volumes/skip-me" }).finally(() => qmp.stop());

    expect(listTree(dst)).toEqual([
      "metadata.json",
      "nested",
      "nested/logs",
      "nested/logs/kept.log",
      "overlay.raw",
      "standby",
      "standby/memory",
      "volumes",
    ]);
    expect(result).toEqual({ files: 4, bytesCopied: 2 + 4 + 3 + 47 });
    expect(readFileSync(join(dst, "standby/memory"), "utf8")).toBe("mem");
    expect(statSync(dst).mode & 0o7777).toBe(0o711);
    expect(statSync(join(dst, "standby")).mode & 0o7777).toBe(0o750);
    expect(statSync(join(dst, "overlay.raw")).mode & 0o7777).toBe(0o600);
  });

  test("recreates symlinks with the same target", async () => {
    put("disk.raw", "data");
    symlinkSync("disk.raw", join(src, "relative-link"));
    symlinkSync("/nonexistent/target", join(src, "dangling-link"));

    await copyTree(src, dst);

    expect(lstatSync(join(dst, "relative-link")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dst, "relative-link"))).toBe("disk.raw");
    expect(readlinkSync(join(dst, "dangling-link"))).toBe("/nonexistent/target");
    expect(readFileSync(join(dst, "relative-link"), "utf8")).toBe("data");
  });

  test("hard-links linkFiles (same inode) and copies the rest (new inode)", async () => {
    put("standby/memory", "immutable memory");
    put("standby/state", "device state");

    const result = await copyTree(src, dst, { linkFiles: ["standby/memory"] });

    const original = statSync(join(src, "standby/memory"));
    const linked = statSync(join(dst, "standby/memory"));
    expect(linked.ino).toBe(original.ino);
    expect(linked.nlink).toBe(2);
    expect(statSync(join(dst, "standby/state")).ino).not.toBe(statSync(join(src, "standby/state")).ino);
    expect(result).toEqual({ files: 2, bytesCopied: "device state".length });
  });

  test("a linkFiles entry missing from the source is an error", async () => {
    put("a", "a");
    await expect(copyTree(src, dst, { linkFiles: ["standby/memory"] })).rejects.toThrow(/standby\/memory/);
    expect(existsSync(dst)).toBe(false);
  });

  test("a fifo is an unsupported file type and nothing is written", async () => {
    put("a", "a");
    execFileSync("mkfifo", [join(src, "pipe")]);
    await expect(copyTree(src, dst)).rejects.toThrow(`unsupported file type: ${join(src, "pipe")}`);
    expect(existsSync(dst)).toBe(false);
  });

  test("accepts an existing empty destination and refuses a non-empty one", async () => {
    put("a", "a");
    mkdirSync(dst);
    await copyTree(src, dst);
    expect(readFileSync(join(dst, "a"), "utf8")).toBe("a");
    await expect(copyTree(src, dst)).rejects.toThrow(/not empty/);
  });

  test("reports progress up to the total size and stops on abort", async () => {
    put("one", "1".repeat(100));
    put("two", "2".repeat(50));
    const progress: Array<[number, number]> = [];
    await copyTree(src, dst, { onProgress: (done, total) => progress.push([done, total]) });
    expect(progress.at(-1)).toEqual([150, 150]);

    const controller = new AbortController();
    controller.abort();
    await expect(copyTree(src, join(dir, "aborted"), { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});
