// Receives one outgoing migration into a file over a Unix socket QEMU connects to (`migrate unix:`). For device
// state alone (~0.3 MB) the `exec:` writer costs more than the data: a shell, cat and mv spawned, then a poll for
// the renamed file, ~11 ms of a ~35 ms standby. Here the file is complete when QEMU closes the connection.
import { open, rename, rm } from "node:fs/promises";
import type { Socket } from "bun";

/** sun_path holds 108 bytes with its NUL: a longer socket path cannot be bound. */
const MAX_SOCKET_PATH = 107;

export interface StreamReceiver {
  /** The URI to give `migrate`. */
  uri: string;
  /** Resolves once QEMU has closed the connection and every byte is in `path` (renamed into place, not fsynced). */
  done: Promise<void>;
  /** Ends the listener and removes its socket (and a partial file when `done` did not resolve). */
  close(): Promise<void>;
}

/** Null when the socket's path would be too long to bind: the caller uses another writer. */
export async function receiveStream(path: string): Promise<StreamReceiver | null> {
  const socketPath = `${path}.sock`;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) return null;
  const partial = `${path}.partial`;
  await rm(socketPath, { force: true });
  const file = await open(partial, "w", 0o600);
  let writes = Promise.resolve();
  let finish!: (err?: Error) => void;
  const closed = new Promise<Error | undefined>((resolve) => (finish = resolve));
  // One stream: a connection after QEMU's is not QEMU's, and is ended unheard.
  let sender: Socket<undefined> | undefined;
  let abandoned = false;
  const server = Bun.listen<undefined>({
    unix: socketPath,
    socket: {
      open(socket) {
        if (sender) return void socket.end();
        sender = socket;
      },
      data(socket, chunk) {
        if (socket !== sender) return;
        const copy = Buffer.from(chunk);
        writes = writes.then(() => file.write(copy).then(() => undefined));
      },
      close(socket) {
        if (socket === sender) finish(abandoned ? new Error("the receiver was closed before the stream ended") : undefined);
      },
      error(socket, err) {
        if (socket === sender) finish(err);
      },
    },
  });
  let complete = false;
  const done = closed.then(async (err) => {
    if (err) throw err;
    await writes;
    await file.close();
    await rename(partial, path);
    complete = true;
  });
  // A caller that gives up (the migration failed) closes instead of awaiting.
  done.catch(() => undefined);
  return {
    uri: `unix:${socketPath}`,
    done,
    async close() {
      abandoned = !complete;
      server.stop(true);
      await rm(socketPath, { force: true });
      if (!complete) {
        await writes.catch(() => undefined);
        await file.close().catch(() => undefined);
        await rm(partial, { force: true });
      }
    },
  };
}
