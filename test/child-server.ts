// A snapvisor server in a child process (test/fixtures/serve-unix.ts) serving `dataDir` on `<dataDir>/api.sock`: what
// the kill -9 tests SIGKILL and start again on the same data dir.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { GUEST_DIR, REPO, type TestService } from "./harness.ts";
import { callUnixApi } from "./unix-api.ts";
import { vmmProcesses } from "./integration/guest.ts";

export type ChildProcess = Bun.Subprocess<"ignore", "pipe", "inherit">;

export interface ChildServerOptions {
  /** The server's network config (serve-unix.ts's argument). */
  network?: object;
  /** Runs the server through this command (`ip netns exec <ns>`). */
  prefix?: string[];
  env?: Record<string, string>;
}

/** Starts the server; resolves with the child and its first line ("ready", or why it could not start). */
export async function startChildServer(dataDir: string, opts: ChildServerOptions = {}): Promise<{ child: ChildProcess; line: string }> {
  const socket = join(dataDir, "api.sock");
  rmSync(socket, { force: true });
  const argv = [process.execPath, join(REPO, "test/fixtures/serve-unix.ts"), dataDir, GUEST_DIR, socket, JSON.stringify(opts.network ?? { mode: "user" })];
  const child = Bun.spawn([...(opts.prefix ?? []), ...argv], { stdin: "ignore", stdout: "pipe", stderr: "inherit", env: { ...process.env, ...opts.env } });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return { child, line: new TextDecoder().decode(value ?? new Uint8Array()).trim() };
}

/** The API over the child's Unix socket, in the shape the guest helpers call. */
export function childApi(dataDir: string): TestService {
  return { call: (method: string, path: string, body?: unknown) => callUnixApi(join(dataDir, "api.sock"), method, path, body) } as unknown as TestService;
}

/** After the tests: stops the child (SIGTERM, up to 60 s), kills any VMM it left running, removes the data dir. */
export async function stopChildServerAndGuests(child: ChildProcess | undefined, dataDir: string): Promise<void> {
  if (child) {
    child.kill("SIGTERM");
    await Promise.race([child.exited, Bun.sleep(60_000)]);
  }
  for (const pid of vmmProcesses(dataDir)) process.kill(pid, "SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
}
