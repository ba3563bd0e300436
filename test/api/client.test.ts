// SnapvisorClient (hc<SnapvisorApp>) against real servers: a Unix socket, and TCP with a bearer token under a
// mount prefix. Errors come back as SnapvisorApiError with the server's {code, message}.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Hono } from "hono";
import { SnapvisorApiError, SnapvisorClient } from "../../src/plugin/client.ts";
import { startService, type TestService } from "../harness.ts";

const TOKEN = "client-test-token-0123456789";
let svc: TestService;
let unixServer: ReturnType<typeof Bun.serve>;
let tcpServer: ReturnType<typeof Bun.serve>;
let socket: string;

beforeAll(async () => {
  svc = await startService({ auth: { token: TOKEN } });
  socket = join(svc.dataDir, "client-test.sock");
  // The socket is guarded by its file mode: the server behind it needs no token, so it forwards one.
  unixServer = Bun.serve({
    unix: socket,
    fetch: (req) => svc.sv.app.fetch(new Request(req, { headers: { ...Object.fromEntries(req.headers), authorization: `Bearer ${TOKEN}` } })),
  });
  tcpServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: new Hono().route("/vm", svc.sv.app).fetch });
});
afterAll(async () => {
  await unixServer?.stop(true);
  await tcpServer?.stop(true);
  await svc?.close();
});

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err);

test("over a Unix socket: typed calls round-trip, ids are sent as one path segment", async () => {
  const client = new SnapvisorClient({ address: `unix:${socket}` });
  expect(await client.health()).toEqual({ status: "ok" });
  const created = await client.createInstance({ name: "via-client", size: "256MB", tags: { team: "sdk" } });
  expect(created).toMatchObject({ name: "via-client", state: "Stopped", tags: { team: "sdk" } });
  expect((await client.getInstance("via-client")).id).toBe(created.id);
  expect((await client.listInstances()).map((i) => i.name)).toEqual(["via-client"]);
  const snap = await client.createSnapshot("via-client", { kind: "Stopped", name: "s1" });
  expect(await client.listSnapshots({ source_instance_id: created.id, kind: "Stopped" })).toEqual([snap]);
  expect(await client.deleteSnapshot(snap.id)).toBeUndefined();

  // "a/b" must reach the instance lookup (404 instance not found), not another route.
  const slash = await rejection(client.getInstance("a/b"));
  expect(slash).toBeInstanceOf(SnapvisorApiError);
  expect(slash).toMatchObject({ status: 404, code: "not_found", message: "instance not found" });
  // An empty id would silently become GET /instances (the list): refused before sending.
  expect(await rejection(client.getInstance(""))).toMatchObject({ message: "an id or name cannot be empty" });
  expect(await client.deleteInstance(created.id)).toBeUndefined();
});

test("over TCP under a prefix: the token is sent, a missing one is a 401 SnapvisorApiError", async () => {
  const address = `http://127.0.0.1:${tcpServer.port}/vm/`;
  const denied = await rejection(new SnapvisorClient({ address }).listInstances());
  expect(denied).toMatchObject({ status: 401, code: "unauthorized" });
  const client = new SnapvisorClient({ address, token: TOKEN });
  expect(await client.listInstances()).toEqual([]);
  const bad = await rejection(client.createInstance({ name: "Bad_Name" }));
  expect(bad).toMatchObject({ status: 400, code: "invalid_request", message: expect.stringContaining("name") });
});

test("an unreachable server is named in the error", async () => {
  const address = `unix:${join(svc.dataDir, "nobody.sock")}`;
  expect(await rejection(new SnapvisorClient({ address }).health())).toMatchObject({
    message: expect.stringContaining(`cannot reach snapvisor at ${address}`),
  });
});
