// File copy against the real agent compiled for the host: bytes and permissions arrive intact, a failed or
// oversized copy leaves nothing at the target, reads stop at the size first seen.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readFileFromGuest, writeFileInGuest } from "./index.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

let agent: HostAgent;
beforeAll(async () => (agent = await startHostAgent()));
afterAll(() => agent.stop());

const LIMITS = { maxBytes: 64 * 1024 * 1024, timeoutMs: 30_000 };

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

test("a file copies in and out byte for byte, with the mode asked for", async () => {
  const content = crypto.getRandomValues(new Uint8Array(5 * 1024 * 1024 + 123));
  const path = join(agent.dir, "copied.bin");
  expect(await writeFileInGuest(agent.socketPath, path, pieces(content, 300_001), { ...LIMITS, mode: 0o600 })).toBe(content.length);
  expect(Buffer.compare(readFileSync(path), content)).toBe(0);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const read = await readFileFromGuest(agent.socketPath, path, LIMITS);
  expect(read.size).toBe(content.length);
  expect(Buffer.compare(await collect(read.chunks), content)).toBe(0);
});

test("an empty file copies both ways", async () => {
  const path = join(agent.dir, "empty");
  await writeFileInGuest(agent.socketPath, path, pieces(new Uint8Array(0), 1), LIMITS);
  const read = await readFileFromGuest(agent.socketPath, path, LIMITS);
  expect(read.size).toBe(0);
  expect((await collect(read.chunks)).length).toBe(0);
});

test("a copy over the limit fails and leaves neither the target nor a partial file", async () => {
  const path = join(agent.dir, "too-big");
  const err = await writeFileInGuest(agent.socketPath, path, pieces(new Uint8Array(3000), 1000), { ...LIMITS, maxBytes: 2500 }).catch((e) => e);
  expect(String(err)).toContain("2500-byte limit");
  await Bun.sleep(100); // the KILL reaches the agent after the rejection
  expect(existsSync(path)).toBe(false);
  expect(readdirSync(agent.dir).filter((f) => f.startsWith("too-big"))).toEqual([]);
});

test("reading a missing file, a directory or a file over the limit fails with a message", async () => {
  await expect(readFileFromGuest(agent.socketPath, join(agent.dir, "missing"), LIMITS)).rejects.toThrow("No such file");
  await expect(readFileFromGuest(agent.socketPath, agent.dir, LIMITS)).rejects.toThrow("not a regular file");
  writeFileSync(join(agent.dir, "big"), new Uint8Array(5000));
  await expect(readFileFromGuest(agent.socketPath, join(agent.dir, "big"), { ...LIMITS, maxBytes: 4999 })).rejects.toThrow("4999-byte limit");
});

test("writing into a missing directory fails naming the path", async () => {
  const path = join(agent.dir, "no/such/dir/file");
  await expect(writeFileInGuest(agent.socketPath, path, pieces(new Uint8Array(10), 10), LIMITS)).rejects.toThrow(path);
});

test("relative paths and NUL never reach the agent", async () => {
  await expect(readFileFromGuest(agent.socketPath, "etc/passwd", LIMITS)).rejects.toThrow("absolute");
  await expect(readFileFromGuest(agent.socketPath, "/etc/pass\0wd", LIMITS)).rejects.toThrow("NUL");
});
