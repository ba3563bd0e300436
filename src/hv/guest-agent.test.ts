// Runs the real guest agent (scripts/guest/agent) on a pseudo-terminal and bridges the pty to a Unix socket the way
// QEMU bridges ttyS1 to its socket chardev (one client at a time, output dropped while none is connected, nothing
// dropped while one is), so the host client and the agent are tested together without booting a guest.
// test/integration/guest-boot.test.ts does the same against a real VM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execInGuest, GuestAgentError, MAX_REPLY_LINE_BYTES, TIMED_OUT_EXIT_CODE, waitForAgent } from "./guest-agent.ts";
import { LineReader } from "./line-reader.ts";
import { WriteQueue } from "./write-queue.ts";

const AGENT_SCRIPT = join(import.meta.dir, "../../scripts/guest/agent");

interface FakeSerialPort {
  socketPath: string;
  /** Bytes the "guest" wrote while no client was connected are gone, as on a real chardev. */
  connections: number;
  stop(): void;
}

function startAgentOnPty(dir: string): FakeSerialPort {
  const socketPath = join(dir, "agent.sock");
  let client: Bun.Socket<undefined> | undefined;
  // What the agent wrote and the client's socket has not taken yet. QEMU holds the guest's UART while its chardev
  // cannot write; a bridge that dropped the rest of a short write lost a third of a 400 KB reply on a slow machine.
  const toClient = new WriteQueue((bytes) => client?.write(bytes) ?? bytes.length);
  // Clients beyond the first wait (with what they sent) until it leaves, like connections in a listen backlog.
  const waiting: { socket: Bun.Socket<undefined>; sent: Uint8Array[] }[] = [];
  const agent = Bun.spawn(["sh", AGENT_SCRIPT, "/dev/tty"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SNAPVISOR_AGENT_WORK_DIR: join(dir, "work") },
    terminal: {
      data: (_terminal, bytes) => {
        if (client) toClient.push(bytes);
      },
    },
  });
  const promoteNext = () => {
    const next = waiting.shift();
    toClient.clear();
    if (!next) return;
    client = next.socket;
    port.connections++;
    for (const bytes of next.sent) agent.terminal?.write(bytes);
  };
  const port: FakeSerialPort = {
    socketPath,
    connections: 0,
    stop: () => {
      server.stop(true);
      agent.kill("SIGKILL");
      agent.terminal?.close();
    },
  };
  const server = Bun.listen<undefined>({
    unix: socketPath,
    socket: {
      open: (socket) => {
        waiting.push({ socket, sent: [] });
        if (!client) promoteNext();
      },
      data: (socket, bytes) => {
        if (socket === client) agent.terminal?.write(bytes);
        else waiting.find((w) => w.socket === socket)?.sent.push(new Uint8Array(bytes));
      },
      drain: (socket) => {
        if (socket === client) toClient.flush();
      },
      close: (socket) => {
        const index = waiting.findIndex((w) => w.socket === socket);
        if (index >= 0) waiting.splice(index, 1);
        if (client === socket) {
          client = undefined;
          promoteNext();
        }
      },
    },
  });
  return port;
}

let dir: string;
let port: FakeSerialPort;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "guest-agent-test-"));
  port = startAgentOnPty(dir);
  await waitForAgent(port.socketPath, { timeoutMs: 10_000 });
});

afterAll(() => {
  port.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("execInGuest against the real agent script", () => {
  test("returns stdout, stderr and the exit code separately", async () => {
    const result = await execInGuest(port.socketPath, "echo out; echo err >&2; exit 3", { timeoutMs: 5_000 });
    expect(result).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
  });

  test("an argv array is quoted: no word is interpreted by the shell", async () => {
    const tricky = ["printf", "%s|", "it's", "$HOME", "a b", "`id`", ";", "\n"];
    const result = await execInGuest(port.socketPath, tricky, { timeoutMs: 5_000 });
    expect(result).toEqual({ exitCode: 0, stdout: "it's|$HOME|a b|`id`|;|\n|", stderr: "" });
  });

  test("exports env to the command", async () => {
    const env = { GREETING: "hello 'world'", EMPTY: "" };
    const result = await execInGuest(port.socketPath, 'printf "%s/%s" "$GREETING" "$EMPTY"', { timeoutMs: 5_000, env });
    expect(result.stdout).toBe("hello 'world'/");
  });

  test("rejects environment names the shell cannot export", async () => {
    const run = execInGuest(port.socketPath, "true", { timeoutMs: 5_000, env: { "A-B": "x" } });
    await expect(run).rejects.toThrow(GuestAgentError);
  });

  test("binary-safe and multi-line output, empty fields", async () => {
    const result = await execInGuest(port.socketPath, "printf 'é\\n\\nline3'", { timeoutMs: 5_000 });
    expect(result).toEqual({ exitCode: 0, stdout: "é\n\nline3", stderr: "" });
  });

  test(`a command past its timeout is killed with its children and reports ${TIMED_OUT_EXIT_CODE}`, async () => {
    const marker = join(dir, "survivor");
    const script = `echo started; (sleep 3; touch ${marker}) & sleep 30`;
    const result = await execInGuest(port.socketPath, script, { timeoutMs: 1_000 });
    expect(result.exitCode).toBe(TIMED_OUT_EXIT_CODE);
    expect(result.stdout).toBe("started\n");
    await Bun.sleep(3_500);
    expect(await Bun.file(marker).exists()).toBe(false);
  }, 20_000);

  test("concurrent requests on one socket are serialized and each gets its own reply", async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => execInGuest(port.socketPath, `echo ${n}`, { timeoutMs: 5_000 })),
    );
    expect(results.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n", "4\n"]);
  });

  test("noise and partial lines on the channel do not break the next request", async () => {
    // An interrupted writer leaves half a line in the guest's tty; the next request must still be understood.
    const socket = await Bun.connect({ unix: port.socketPath, socket: { data: () => undefined } });
    socket.write("garbage without newline SVX bad");
    socket.end();
    const result = await execInGuest(port.socketPath, "echo still-fine", { timeoutMs: 5_000 });
    expect(result.stdout).toBe("still-fine\n");
  });

  test("a large script and a large output pass through", async () => {
    // 400 KB of request line: the agent's parsing must be linear (a quadratic pattern took minutes at this size).
    const payload = "x".repeat(300_000);
    const result = await execInGuest(port.socketPath, `printf %s '${payload}' | wc -c; head -c 300000 /dev/zero | tr '\\0' y`, {
      timeoutMs: 30_000,
    });
    expect(result.stdout).toBe(`300000\n${"y".repeat(300_000)}`);
  }, 60_000);

  test("a request glued to noise on the same line is served", async () => {
    const id = "glued1";
    const answered = Promise.withResolvers<string>();
    const lines = new LineReader(1024, (line) => line.startsWith(`SVR ${id} `) && answered.resolve(line), () => undefined);
    const socket = await Bun.connect({ unix: port.socketPath, socket: { data: (_socket, bytes) => lines.push(bytes) } });
    try {
      socket.write(`\nleft over SVX junkSVX ${id} 5 ${Buffer.from("echo glued").toString("base64")}\n`);
      expect(await answered.promise).toBe(`SVR ${id} 0 ${Buffer.from("glued\n").toString("base64")} -`);
    } finally {
      socket.end();
    }
  });

  test("terminal control bytes in the output (^S ^Q ^C ^D ^Z, CR, DEL) arrive as written", async () => {
    const result = await execInGuest(port.socketPath, "printf '\\023\\021\\003\\004\\032\\r\\n\\177'", { timeoutMs: 5_000 });
    expect(result.stdout).toBe("\x13\x11\x03\x04\x1a\r\n\x7f");
  });

  test("the agent keeps serving after the client reconnects (what a snapshot restore looks like to it)", async () => {
    const before = port.connections;
    await waitForAgent(port.socketPath, { timeoutMs: 5_000 });
    const result = await execInGuest(port.socketPath, "echo again", { timeoutMs: 5_000 });
    expect(result.stdout).toBe("again\n");
    expect(port.connections).toBe(before + 2);
  });
});

/** A socket that plays a hostile agent: `answer` gets each request id and the socket to reply on. */
function fakeAgent(path: string, answer: (id: string, socket: Bun.Socket<undefined>) => void) {
  return Bun.listen<undefined>({
    unix: path,
    socket: {
      data: (socket, bytes) => {
        for (const [, id] of bytes.toString("latin1").matchAll(/SVX (\w+) /g)) answer(id!, socket);
      },
    },
  });
}

describe("execInGuest against a hostile agent", () => {
  test(`a reply line longer than ${MAX_REPLY_LINE_BYTES} bytes fails the request instead of growing`, async () => {
    const path = join(dir, "endless.sock");
    const noise = Buffer.alloc(1024 * 1024, "A");
    let sent = 0;
    const pump = (socket: Bun.Socket<undefined>) => {
      // Until the socket is full, then again on drain; a closed socket takes nothing and ends the loop.
      for (let written = noise.length; written === noise.length; ) {
        written = socket.write(noise);
        sent += Math.max(0, written);
      }
    };
    const server = Bun.listen<undefined>({
      unix: path,
      socket: {
        data: (socket, bytes) => {
          const id = /SVX (\w+) /.exec(bytes.toString("latin1"))?.[1];
          if (!id) return;
          socket.write(`SVR ${id} 0 `);
          pump(socket);
        },
        drain: pump,
      },
    });
    try {
      const run = execInGuest(path, "true", { timeoutMs: 60_000 });
      await expect(run).rejects.toThrow(`longer than ${MAX_REPLY_LINE_BYTES} bytes`);
      expect(sent).toBeGreaterThan(MAX_REPLY_LINE_BYTES);
    } finally {
      server.stop(true);
    }
  }, 120_000);

  test("a reply among noise, stale replies and malformed lines is found", async () => {
    const path = join(dir, "noisy.sock");
    const server = fakeAgent(path, (id, socket) => {
      const ok = Buffer.from("ok").toString("base64");
      socket.write(`noise\r\nSVR ${id} x - -\nSVR other 0 - -\nSVR ${id} 0 ${ok}\n`);
      socket.write(`SVR ${id} 0 ${ok} - extra\n\x00\xff\n`);
      socket.write(`SVR ${id} 7 ${ok} -\r\n`);
    });
    try {
      expect(await execInGuest(path, "true", { timeoutMs: 5_000 })).toEqual({ exitCode: 7, stdout: "ok", stderr: "" });
    } finally {
      server.stop(true);
    }
  });
});

describe("waitForAgent", () => {
  test("fails with a clear error when nothing listens", async () => {
    const missing = join(dir, "missing.sock");
    const wait = waitForAgent(missing, { timeoutMs: 400 });
    await expect(wait).rejects.toThrow(`agent not reachable at ${missing} after 400 ms`);
  });

  test("fails when the socket accepts but no agent answers", async () => {
    const silentPath = join(dir, "silent.sock");
    const silent = Bun.listen<undefined>({ unix: silentPath, socket: { data: () => undefined } });
    try {
      await expect(waitForAgent(silentPath, { timeoutMs: 600 })).rejects.toThrow(GuestAgentError);
    } finally {
      silent.stop(true);
    }
  });
});
