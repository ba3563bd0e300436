import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillDurably } from "./fill-durably.ts";

const root = mkdtempSync(join(tmpdir(), "fill-durably-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const openFds = () => readdirSync("/proc/self/fd").length;
let n = 0;
const freshDir = () => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return dir;
};

test("another process fills the dir under a temp name and renames; its result comes back with the files whole", async () => {
  const dir = freshDir();
  const fds = openFds();
  // Slow enough (64 pieces of 512 KiB) for several flush rounds to see the growing temp file.
  const script = `for i in $(seq 64); do head -c 524288 /dev/urandom; sleep 0.002; done > memory.partial && mv memory.partial memory`;
  const result = await fillDurably(dir, async () => {
    const proc = Bun.spawn(["sh", "-c", script], { cwd: dir });
    return proc.exited;
  });
  expect(result).toBe(0);
  expect(readdirSync(dir)).toEqual(["memory"]);
  expect(statSync(join(dir, "memory")).size).toBe(64 * 524288);
  expect(openFds()).toBe(fds);
});

test("a failed fill rejects with its own error and leaves no file open", async () => {
  const dir = freshDir();
  const fds = openFds();
  const failure = new Error("migration failed");
  const done = fillDurably(dir, async () => {
    await Bun.write(join(dir, "memory"), new Uint8Array(1 << 20));
    await Bun.sleep(50); // flush rounds open and flush it
    throw failure;
  });
  await expect(done).rejects.toBe(failure);
  expect(openFds()).toBe(fds);
});

test("a file that disappears while the dir fills is not an error", async () => {
  const dir = freshDir();
  await fillDurably(dir, async () => {
    await Bun.write(join(dir, "scratch"), "x");
    await Bun.sleep(30);
    rmSync(join(dir, "scratch"));
    await Bun.write(join(dir, "state"), "done");
  });
  expect(readdirSync(dir)).toEqual(["state"]);
});
