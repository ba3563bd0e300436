// Authentication at the HTTP boundary: only the health route and the API reference are open, wherever the app
// is mounted; a refusal is a 401 with a Bearer challenge; a missing or blank token refuses to start.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { silentLogger } from "../../src/core/service/logger.ts";
import { createSnapvisor, type SnapvisorOptions } from "../../src/plugin/create-snapvisor.ts";
import { serve } from "../../src/plugin/server.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

const TOKEN = "test-token-0123456789abcdef";
const bearer = { authorization: `Bearer ${TOKEN}` };

let svc: TestService;
let direct: ReturnType<typeof Bun.serve>;
let mounted: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  svc = await startService({ auth: { token: TOKEN } });
  await registerFakeImage(svc);
  const created = await svc.call("POST", "/instances", { name: "health", image: "fake", size: "128MB", overlay_size: "16MB" });
  expect(created.status).toBe(201);
  direct = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: svc.sv.app.fetch });
  mounted = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: new Hono().route("/vm", svc.sv.app).fetch });
});

afterAll(async () => {
  await direct.stop(true);
  await mounted.stop(true);
  await svc.close();
});

const at = (server: ReturnType<typeof Bun.serve>, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${server.port}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toStartWith('Bearer realm="snapvisor"');
  const body = (await res.json()) as { code: string; message: string };
  expect(body.code).toBe("unauthorized");
}

describe("over TCP", () => {
  test("a path ending in /health is not the health route: DELETE /instances/health is refused, the instance stays", async () => {
    await expectRefused(await at(direct, "/instances/health", { method: "DELETE" }));
    await expectRefused(await at(direct, "/instances/health"));
    await expectRefused(await at(direct, "/images/health"));
    await expectRefused(await at(direct, "/health/"));
    await expectRefused(await at(direct, "/instances/x/health"));
    const list = (await (await at(direct, "/instances", { headers: bearer })).json()) as { name: string }[];
    expect(list.map((i) => i.name)).toEqual(["health"]);
  });

  test("only GET /health, /docs and /openapi.json are open", async () => {
    expect(await (await at(direct, "/health")).json()).toEqual({ status: "ok" });
    expect((await at(direct, "/docs")).status).toBe(200);
    expect((await at(direct, "/openapi.json")).status).toBe(200);
    await expectRefused(await at(direct, "/health", { method: "DELETE" }));
    await expectRefused(await at(direct, "/metrics"));
  });

  test("a wrong token is refused with an invalid_token challenge", async () => {
    const res = await at(direct, "/instances", { headers: { authorization: "Bearer wrong-token-0123456789" } });
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    await expectRefused(res);
  });

  test("/openapi.json declares the bearer scheme, and the health route as open", async () => {
    const doc: any = await (await at(direct, "/openapi.json")).json();
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/health"].get.security).toEqual([]);
    expect(doc.info.description).toContain("Unknown fields are refused");
  });
});

describe("embedded under /vm", () => {
  test("/vm/health is open; /vm/instances/health is not", async () => {
    expect((await at(mounted, "/vm/health")).status).toBe(200);
    expect((await at(mounted, "/vm/docs")).status).toBe(200);
    await expectRefused(await at(mounted, "/vm/instances/health"));
    await expectRefused(await at(mounted, "/vm/instances/health", { method: "DELETE" }));
    expect((await at(mounted, "/vm/instances/health", { headers: bearer })).status).toBe(200);
  });
});

describe("a missing token refuses to start", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sv-auth-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const base = { dataDir: join(dataDir, "never-created"), logger: silentLogger, scheduler: { enabled: false } };

  test("createSnapvisor with no auth, an undefined, empty, blank or short token", () => {
    const refused: [unknown, RegExp][] = [
      [undefined, /auth option is required/],
      [{ token: undefined }, /token is empty/],
      [{ token: "" }, /token is empty/],
      [{ token: "   \n" }, /token is empty/],
      [{ token: "short" }, /shorter than 16/],
      [{ token: "has spaces in the middle" }, /may hold only/],
    ];
    for (const [auth, message] of refused) {
      const start = () => createSnapvisor({ ...base, auth } as SnapvisorOptions);
      expect(start).toThrow(message);
      expect(start).toThrow(/auth: \{ token \}.*or auth: false/);
    }
    // Refused before anything touched the disk.
    expect(existsSync(base.dataDir)).toBe(false);
  });

  test("serve on TCP with an empty or blank auth-token file", async () => {
    for (const content of ["", "  \n"]) {
      writeFileSync(join(dataDir, "auth-token"), content);
      const started = serve({ dataDir, listen: "127.0.0.1:0", logger: silentLogger, scheduler: { enabled: false } });
      await expect(started).rejects.toThrow(/token is empty: write a token into .*auth-token, set SNAPVISOR_TOKEN/);
      expect(readFileSync(join(dataDir, "auth-token"), "utf8")).toBe(content);
    }
  });
});
