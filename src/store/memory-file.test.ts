import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hardLink, linkCount, unshareFile } from "./memory-file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-memory-file-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("memory files", () => {
  test("hardLink shares the inode and raises the link count", async () => {
    const snapshot = join(dir, "snapshot-memory");
    const fork = join(dir, "fork-memory");
    writeFileSync(snapshot, "guest memory");

    await hardLink(snapshot, fork);

    expect(statSync(fork).ino).toBe(statSync(snapshot).ino);
    expect(await linkCount(snapshot)).toBe(2);
    await expect(hardLink(snapshot, fork)).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("hardLink across filesystems fails instead of copying", async () => {
    const src = join(dir, "memory");
    writeFileSync(src, "m");
    const dst = join("/dev/shm", `sv-memory-file-${process.pid}`);
    await expect(hardLink(src, dst)).rejects.toMatchObject({ code: "EXDEV" });
    expect(existsSync(dst)).toBe(false);
  });

  test("unshareFile gives the path a private inode; the other link keeps the original", async () => {
    const snapshot = join(dir, "snapshot-memory");
    const fork = join(dir, "fork-memory");
    writeFileSync(snapshot, "original memory");
    await hardLink(snapshot, fork);
    const originalInode = statSync(snapshot).ino;

    expect(await unshareFile(fork)).toBe(true);

    const forkStat = statSync(fork);
    expect(forkStat.ino).not.toBe(originalInode);
    expect(forkStat.nlink).toBe(1);
    expect(statSync(snapshot).ino).toBe(originalInode);
    expect(statSync(snapshot).nlink).toBe(1);
    // Writing into the fork's memory now leaves the snapshot's untouched.
    writeFileSync(fork, "fork diverged");
    expect(readFileSync(snapshot, "utf8")).toBe("original memory");
    expect(readdirSync(dir).sort()).toEqual(["fork-memory", "snapshot-memory"]);
  });

  test("unshareFile copies the content and mode, and discards a stale temp from a crash", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    writeFileSync(a, "content", { mode: 0o600 });
    await hardLink(a, b);
    writeFileSync(`${b}.unshare.tmp`, "stale leftover");

    await unshareFile(b);

    expect(readFileSync(b, "utf8")).toBe("content");
    expect(statSync(b).mode & 0o777).toBe(0o600);
    expect(existsSync(`${b}.unshare.tmp`)).toBe(false);
  });

  test("unshareFile is a no-op for a file with one link", async () => {
    const path = join(dir, "memory");
    writeFileSync(path, "m");
    const inode = statSync(path).ino;
    expect(await unshareFile(path)).toBe(false);
    expect(statSync(path).ino).toBe(inode);
  });
});
