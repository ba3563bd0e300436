// `snapvisor serve` on TCP: a bearer token is generated into the data dir (0600) on first start and required on
// every route but the open ones (/health, /docs, /openapi.json); on a Unix socket no token is needed and the
// socket is private (0600).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/service/logger.ts";
import { serve } from "../../src/plugin/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "sv-serve-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("TCP listener requires the generated bearer token", async () => {
  const listener = await serve({ dataDir, listen: "127.0.0.1:0", logger: silentLogger, scheduler: { enabled: false } });
  try {
    const tokenFile = join(dataDir, "auth-token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(listener.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${listener.address}/health`)).status).toBe(200);
    const denied = await fetch(`${listener.address}/instances`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ code: "unauthorized", message: "missing bearer token" });
    expect((await fetch(`${listener.address}/instances`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const ok = await fetch(`${listener.address}/instances`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
  } finally {
    await listener.stop();
  }
});

test("Unix socket listener needs no token and is private to the service user", async () => {
  const listener = await serve({ dataDir, logger: silentLogger, scheduler: { enabled: false } });
  try {
    const socket = join(dataDir, "snapvisor.sock");
    expect(listener.address).toBe(`unix:${socket}`);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect((await fetch("http://localhost/instances", { unix: socket })).status).toBe(200);
  } finally {
    await listener.stop();
  }
});
