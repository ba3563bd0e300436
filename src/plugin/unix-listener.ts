// The API's Unix socket: private from the moment it exists, and never put where another file or a live server is.
import { lstatSync, rmSync } from "node:fs";
import { createConnection } from "node:net";

/** How long a connect to an existing socket may take before it counts as in use (a local connect is instant). */
const PROBE_TIMEOUT_MS = 1_000;
/** Owner read/write only: bind() creates the socket with 0777 & ~umask, so this umask makes it 0600. */
const SOCKET_UMASK = 0o177;

export class SocketPathError extends Error {
  override readonly name = "SocketPathError";
}

/** Makes `path` free for bind(): nothing there, or a socket nobody answers on (left by a killed server), which
 * is removed. A live socket or any other kind of file is an error, and is left untouched. */
export async function claimSocketPath(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketPathError(`${path} exists and is not a socket: not replacing it; remove it or choose another listen path`);
  }
  if (await answers(path)) throw new SocketPathError(`${path} is already in use: another server answers on it`);
  rmSync(path, { force: true });
}

/** Binds with a restrictive umask so no other user can connect between bind() and a chmod; the umask is
 * process-wide, so it is restored right after the synchronous bind. */
export function bindPrivately<T>(bind: () => T): T {
  const previous = process.umask(SOCKET_UMASK);
  try {
    return bind();
  } finally {
    process.umask(previous);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    // A connect that neither succeeds nor is refused in time: something holds the path; treat it as in use.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    socket.once("connect", () => done(true));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code !== "ECONNREFUSED" && err.code !== "ENOENT"));
  });
}
