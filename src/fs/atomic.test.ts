import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commitDir, commitFile, removeTree, stageDir, writeFileAtomic } from "./atomic.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-atomic-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  test("replaces the file by rename: an open reader keeps the old content, no temp file remains", async () => {
    const path = join(dir, "vm.json");
    writeFileSync(path, "old");
    const oldInode = statSync(path).ino;
    const oldFd = openSync(path, "r");

    await writeFileAtomic(path, "new");

    expect(readFileSync(path, "utf8")).toBe("new");
    expect(statSync(path).ino).not.toBe(oldInode);
    expect(readFileSync(oldFd, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["vm.json"]);
  });

  test("creates the file with the requested mode", async () => {
    await writeFileAtomic(join(dir, "token"), new TextEncoder().encode("secret"), { mode: 0o600 });
    expect(statSync(join(dir, "token")).mode & 0o777).toBe(0o600);
    await writeFileAtomic(join(dir, "record.json"), "{}");
    expect(statSync(join(dir, "record.json")).mode & 0o777).toBe(0o644);
  });

  test("a failed rename leaves the target as it was and no temp file", async () => {
    mkdirSync(join(dir, "target-is-a-dir"));
    writeFileSync(join(dir, "target-is-a-dir", "keep"), "x");
    await expect(writeFileAtomic(join(dir, "target-is-a-dir"), "data")).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(["target-is-a-dir"]);
  });
});

describe("commitFile", () => {
  test("a written temp file takes the final name: the old inode stays with its readers, the temp name is gone", async () => {
    const path = join(dir, "memory.zst");
    writeFileSync(path, "old");
    const oldFd = openSync(path, "r");
    writeFileSync(join(dir, "memory.zst.tmp"), "new");

    await commitFile(join(dir, "memory.zst.tmp"), path);

    expect(readFileSync(path, "utf8")).toBe("new");
    expect(readFileSync(oldFd, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["memory.zst"]);
  });

  test("a missing temp file fails and leaves the target as it was", async () => {
    writeFileSync(join(dir, "memory"), "raw");
    await expect(commitFile(join(dir, "memory.tmp"), join(dir, "memory"))).rejects.toThrow();
    expect(readFileSync(join(dir, "memory"), "utf8")).toBe("raw");
  });
});

describe("stageDir / commitDir", () => {
  test("stages a new private dir under the tmp root each time", async () => {
    const tmpRoot = join(dir, "tmp");
    const a = await stageDir(tmpRoot);
    const b = await stageDir(tmpRoot);
    expect(a).not.toBe(b);
    expect(readdirSync(tmpRoot).sort()).toEqual([a, b].map((p) => p.slice(tmpRoot.length + 1)).sort());
    expect(readdirSync(a)).toEqual([]);
    expect(statSync(a).mode & 0o777).toBe(0o700);
  });

  test("commit moves the staged tree to its final path", async () => {
    const staging = await stageDir(join(dir, "tmp"));
    mkdirSync(join(staging, "guest", "standby"), { recursive: true });
    writeFileSync(join(staging, "guest", "standby", "memory"), "mem");
    mkdirSync(join(dir, "snapshots"));
    const finalDir = join(dir, "snapshots", "s1");

    await commitDir(staging, finalDir);

    expect(readFileSync(join(finalDir, "guest", "standby", "memory"), "utf8")).toBe("mem");
    expect(existsSync(staging)).toBe(false);
  });

  test("commit refuses an existing final path, even an empty dir, and keeps the staging dir", async () => {
    const staging = await stageDir(join(dir, "tmp"));
    writeFileSync(join(staging, "file"), "staged");
    const finalDir = join(dir, "final");
    mkdirSync(finalDir);

    await expect(commitDir(staging, finalDir)).rejects.toMatchObject({ code: "EEXIST" });

    expect(readdirSync(finalDir)).toEqual([]);
    expect(readFileSync(join(staging, "file"), "utf8")).toBe("staged");
  });

  test("crash before commit: a killed writer leaves its payload in tmp only, never at the final path", async () => {
    const tmpRoot = join(dir, "tmp");
    const finalDir = join(dir, "guests", "g1");
    mkdirSync(join(dir, "guests"));
    const writer = join(dir, "writer.ts");
    writeFileSync(
      writer,
      `import { stageDir } from ${JSON.stringify(join(import.meta.dir, "atomic.ts"))};
       import { writeFileSync } from "node:fs";
       const staging = await stageDir(${JSON.stringify(tmpRoot)});
       writeFileSync(staging + "/disk.raw", "half-built payload");
       console.log(staging);
       // Parked where commitDir would run next: the parent kills us here.
       setInterval(() => {}, 1000);`,
    );
    const proc = Bun.spawn([process.execPath, writer], { stdout: "pipe" });
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    const staging = new TextDecoder().decode(value).trim();
    proc.kill("SIGKILL");
    await proc.exited;

    expect(existsSync(join(staging, "disk.raw"))).toBe(true);
    expect(existsSync(finalDir)).toBe(false);
    expect(readdirSync(join(dir, "guests"))).toEqual([]);
  });
});

describe("removeTree", () => {
  test("removes a nested tree and tolerates a missing path", async () => {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "b", "f"), "x");
    await removeTree(join(dir, "a"));
    expect(existsSync(join(dir, "a"))).toBe(false);
    await removeTree(join(dir, "a"));
    await removeTree(join(dir, "never-existed", "deeper"));
  });
});
