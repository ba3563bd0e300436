// Shared plumbing of the fake VMM processes: their command line, the call log the tests read, the Unix-socket
// HTTP server, and the fake guest's "memory" (a sparse file of the guest's RAM size whose first bytes carry the
// guest's identity, so a test can see that a restore continued the VM that was snapshotted).
import { appendFileSync, closeSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";

/** One line of the call log (JSON lines): what the VMM was asked and what it answered. */
export interface LoggedCall {
  pid: number;
  method: string;
  path: string;
  /** Parsed JSON body; null when the request had none. */
  body: unknown;
  status: number;
  /** Guest identity the call saw (boot, restore), for continuity checks. */
  guest?: string;
}

/** `--flag value` pairs and bare `--flag`s, in any order. */
export function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      flags.set(arg, next);
      i++;
    } else {
      flags.set(arg, "");
    }
  }
  return flags;
}

export class CallLog {
  constructor(private readonly file: string | undefined) {}

  record(call: Omit<LoggedCall, "pid">): void {
    if (this.file) appendFileSync(this.file, `${JSON.stringify({ pid: process.pid, ...call })}\n`);
  }
}

export function readCallLog(text: string): LoggedCall[] {
  return text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as LoggedCall);
}

export interface FakeAnswer {
  status: number;
  body?: unknown;
  /** Plain-text body (CH ≤ v46 style); wins over `body`. */
  text?: string;
  guest?: string;
  /** Exit the process once the answer is sent (vmm.shutdown, a guest reset under Firecracker). */
  exitAfter?: boolean;
}

export type FakeHandler = (method: string, path: string, body: unknown, rawBody: string) => FakeAnswer;

/** Serves `handler` on `socket` and logs every call; an unparsable JSON body reaches the handler as `undefined`. */
export function serveFake(socket: string, log: CallLog, handler: FakeHandler): void {
  Bun.serve({
    unix: socket,
    async fetch(req) {
      const url = new URL(req.url);
      const raw = await req.text();
      let body: unknown = null;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
      }
      const answer = handler(req.method, url.pathname, body, raw);
      log.record({ method: req.method, path: url.pathname, body: body ?? null, status: answer.status, ...(answer.guest ? { guest: answer.guest } : {}) });
      if (answer.exitAfter) setTimeout(() => process.exit(0), 20);
      if (answer.status === 204) return new Response(null, { status: 204 });
      if (answer.text !== undefined) return new Response(answer.text, { status: answer.status, headers: { "content-type": "text/plain" } });
      return Response.json(answer.body ?? {}, { status: answer.status });
    },
  });
}

const GUEST_MARK = "FAKE-GUEST:";

/** Writes the fake guest RAM: `bytes` long, sparse, its identity at offset 0. `flag` "wx" = O_CREAT|O_EXCL. */
export function writeGuestMemory(path: string, bytes: number, guest: string, flag: "wx" | "r+" | "w"): void {
  const fd = openSync(path, flag, 0o600);
  try {
    ftruncateSync(fd, bytes);
    writeSync(fd, `${GUEST_MARK}${guest}\n`, 0);
  } finally {
    closeSync(fd);
  }
}

/** The identity in a fake guest RAM file, or null when it holds none. */
export function readGuestMemory(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString("utf8");
    if (!head.startsWith(GUEST_MARK)) return null;
    return head.slice(GUEST_MARK.length).split("\n")[0]!;
  } finally {
    closeSync(fd);
  }
}
