// The API's Unix socket: 0600 from the moment it exists, never put over another file or a live server, and a
// socket left by a killed server is replaced.
import { afterAll, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/service/logger.ts";
import { serve } from "../../src/plugin/server.ts";

const root = mkdtempSync(join(tmpdir(), "sv-sock-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const options = (name: string) => ({ dataDir: join(root, name), logger: silentLogger, scheduler: { enabled: false } });
const health = (socket: string) => fetch("http://localhost/health", { unix: socket, signal: AbortSignal.timeout(10_000) });

test("the socket is 0600 right after listen, and the process umask is restored", async () => {
  const umask = process.umask();
  const listener = await serve(options("mode"));
  try {
    const socket = join(root, "mode", "snapvisor.sock");
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(lstatSync(socket).mode & 0o777).toBe(0o600);
    expect(process.umask()).toBe(umask);
  } finally {
    await listener.stop();
  }
});

test("a regular file at the socket path is an error and is left intact", async () => {
  const socket = join(root, "not-a-socket");
  writeFileSync(socket, "precious data\n");
  await expect(serve({ ...options("file"), listen: `unix:${socket}` })).rejects.toThrow(/is not a socket/);
  expect(readFileSync(socket, "utf8")).toBe("precious data\n");
});

test("a socket another server answers on is 'already in use', and that server keeps answering", async () => {
  const first = await serve(options("live"));
  try {
    const socket = join(root, "live", "snapvisor.sock");
    await expect(serve({ ...options("live-2"), listen: `unix:${socket}` })).rejects.toThrow(/already in use/);
    expect((await health(socket)).status).toBe(200);
  } finally {
    await first.stop();
  }
});

test("a socket left by a killed server is replaced", async () => {
  const socket = join(root, "stale.sock");
  const script = `Bun.serve({ unix: ${JSON.stringify(socket)}, fetch: () => new Response("old") }); console.log("up");`;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
  await child.stdout.getReader().read(); // "up": the socket is bound
  child.kill("SIGKILL");
  await child.exited;
  expect(lstatSync(socket).isSocket()).toBe(true);
  const listener = await serve({ ...options("stale"), listen: `unix:${socket}` });
  try {
    expect(await (await health(socket)).json()).toEqual({ status: "ok" });
  } finally {
    await listener.stop();
  }
});
