import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { HypervisorError } from "../hypervisor.ts";
import { QMP_EVENT_BUFFER_SIZE, QmpClient } from "./qmp-client.ts";

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: "" }, capabilities: ["oob"] } };

interface Command {
  execute: string;
  arguments?: Record<string, unknown>;
  id: number;
}

/** A QMP server on a Unix socket; `reply` decides what each command gets (nothing = no reply). */
function fakeQmp(reply: (cmd: Command, socket: Socket<undefined>) => void, greeting: object | null = GREETING) {
  const dir = mkdtempSync(join(tmpdir(), "qmp-test-"));
  const path = join(dir, "qmp.sock");
  const received: Command[] = [];
  let buffered = "";
  const server: UnixSocketListener<undefined> = Bun.listen({
    unix: path,
    socket: {
      open(socket) {
        if (greeting) socket.write(`${JSON.stringify(greeting)}\r\n`);
      },
      data(socket, chunk) {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const cmd = JSON.parse(buffered.slice(0, nl)) as Command;
          buffered = buffered.slice(nl + 1);
          received.push(cmd);
          if (cmd.execute === "qmp_capabilities") send(socket, { return: {}, id: cmd.id });
          else reply(cmd, socket);
        }
      },
    },
  });
  cleanups.push(() => {
    server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, received, server };
}

function send(socket: Socket<undefined>, ...messages: object[]): void {
  socket.write(messages.map((m) => `${JSON.stringify(m)}\r\n`).join(""));
}

const event = (name: string, data: object = {}) => ({ event: name, data, timestamp: { seconds: 1, microseconds: 0 } });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function rejection(promise: Promise<unknown>): Promise<HypervisorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HypervisorError);
  return err as HypervisorError;
}

describe("QmpClient", () => {
  test("reads the greeting, negotiates capabilities, matches replies to ids", async () => {
    const server = fakeQmp((cmd, socket) => send(socket, { return: { status: "running", echo: cmd.arguments }, id: cmd.id }));
    const { client, greeting } = await QmpClient.connect(server.path);
    expect(greeting.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    const [a, b] = await Promise.all([client.execute("query-status"), client.execute("stop", { x: 1 })]);
    expect(a).toEqual({ status: "running", echo: undefined });
    expect(b).toEqual({ status: "running", echo: { x: 1 } });
    expect(server.received.map((c) => c.execute)).toEqual(["qmp_capabilities", "query-status", "stop"]);
    expect(new Set(server.received.map((c) => c.id)).size).toBe(3);
    client.close();
  });

  test("replies out of order, with events between them, reach the right callers", async () => {
    const held: Command[] = [];
    const server = fakeQmp((cmd, socket) => {
      held.push(cmd);
      if (held.length < 2) return;
      const [first, second] = held;
      send(socket, event("STOP"), { return: "second", id: second!.id }, event("RESUME"), { return: "first", id: first!.id });
    });
    const { client } = await QmpClient.connect(server.path);
    const resumed = client.waitEvent("RESUME", undefined, 2_000);
    expect(await Promise.all([client.execute("one"), client.execute("two")])).toEqual(["first", "second"]);
    expect((await resumed).event).toBe("RESUME");
    client.close();
  });

  test("a reply split across chunks is reassembled", async () => {
    const server = fakeQmp((cmd, socket) => {
      const line = `${JSON.stringify({ return: { long: "x".repeat(100_000) }, id: cmd.id })}\r\n`;
      socket.write(line.slice(0, 10));
      setTimeout(() => socket.write(line.slice(10)), 20);
    });
    const { client } = await QmpClient.connect(server.path);
    expect(await client.execute<{ long: string }>("big")).toEqual({ long: "x".repeat(100_000) });
    client.close();
  });

  test("an error reply becomes HypervisorError('failed') with QEMU's description", async () => {
    const server = fakeQmp((cmd, socket) =>
      send(socket, { error: { class: "GenericError", desc: "Parameter 'uri' expects a valid migration protocol" }, id: cmd.id }),
    );
    const { client } = await QmpClient.connect(server.path);
    const err = await rejection(client.execute("migrate", { uri: "file:/x" }));
    expect(err.kind).toBe("failed");
    expect(err.message).toBe("QMP migrate: Parameter 'uri' expects a valid migration protocol");
    client.close();
  });

  test("a command without reply times out; a late reply is ignored and the client stays usable", async () => {
    let first = true;
    const server = fakeQmp((cmd, socket) => {
      if (first) {
        first = false;
        setTimeout(() => send(socket, { return: "late", id: cmd.id }), 100);
      } else {
        send(socket, { return: "on time", id: cmd.id });
      }
    });
    const { client } = await QmpClient.connect(server.path);
    const err = await rejection(client.execute("slow", undefined, 30));
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain("slow");
    await Bun.sleep(150);
    expect(await client.execute("fast")).toBe("on time");
    client.close();
  });

  test("waitEvent with a cursor sees events that arrived before the wait; without one it does not", async () => {
    const server = fakeQmp((cmd, socket) =>
      send(socket, event("MIGRATION", { status: "setup" }), event("MIGRATION", { status: "completed" }), { return: {}, id: cmd.id }),
    );
    const { client } = await QmpClient.connect(server.path);
    const since = client.eventCursor();
    await client.execute("migrate");
    const done = await client.waitEvent("MIGRATION", (d) => d.status === "completed", 1_000, since);
    expect(done.data).toEqual({ status: "completed" });
    expect((await rejection(client.waitEvent("MIGRATION", (d) => d.status === "completed", 50))).kind).toBe("timeout");
    client.close();
  });

  test("a cursor older than the event buffer is refused rather than silently missing events", async () => {
    const server = fakeQmp((cmd, socket) =>
      send(socket, ...Array.from({ length: QMP_EVENT_BUFFER_SIZE + 1 }, (_, i) => event("TICK", { i })), { return: {}, id: cmd.id }),
    );
    const { client } = await QmpClient.connect(server.path);
    const since = client.eventCursor();
    await client.execute("flood");
    expect((await client.waitEvent("TICK", (d) => d.i === QMP_EVENT_BUFFER_SIZE, 100, since)).data.i).toBe(QMP_EVENT_BUFFER_SIZE);
    expect((await rejection(client.waitEvent("TICK", (d) => d.i === 0, 100, since))).kind).toBe("failed");
    client.close();
  });

  test("the predicate filters events of the same name", async () => {
    const server = fakeQmp((cmd, socket) => {
      send(socket, { return: {}, id: cmd.id });
      setTimeout(() => send(socket, event("MIGRATION", { status: "active" })), 10);
      setTimeout(() => send(socket, event("MIGRATION", { status: "failed" })), 30);
    });
    const { client } = await QmpClient.connect(server.path);
    const since = client.eventCursor();
    await client.execute("migrate");
    const end = await client.waitEvent("MIGRATION", (d) => d.status !== "active" && d.status !== "setup", 1_000, since);
    expect(end.data.status).toBe("failed");
    client.close();
  });

  test("losing the connection rejects pending commands and event waiters with 'gone'", async () => {
    const server = fakeQmp((_cmd, socket) => setTimeout(() => socket.end(), 20));
    const { client } = await QmpClient.connect(server.path);
    const waiting = client.waitEvent("SHUTDOWN", undefined, 5_000);
    const err = await rejection(client.execute("quit", undefined, 5_000));
    expect(err.kind).toBe("gone");
    expect((await rejection(waiting)).kind).toBe("gone");
    expect(client.closed).toBe(true);
    expect((await rejection(client.execute("query-status"))).kind).toBe("gone");
  });

  test("no socket is 'gone' (the caller may retry); a silent server is a greeting timeout", async () => {
    expect((await rejection(QmpClient.connect(join(tmpdir(), "no-such-dir-qmp", "qmp.sock")))).kind).toBe("gone");
    const silent = fakeQmp(() => {}, null);
    const err = await rejection(QmpClient.connect(silent.path, 50));
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain("greeting");
  });
});
