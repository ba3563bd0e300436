import { expect, test } from "bun:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { internal, notFound } from "../core/errors.ts";
import { silentLogger } from "../core/service/logger.ts";
import { handleError } from "./errors.ts";

const DATA = "/srv/snapvisor-data";

/** An app whose routes throw what core, node and middleware throw, rendered by the one error mapper. */
function appThrowing(errors: Record<string, () => Error>) {
  const app = new Hono();
  app.onError(handleError(silentLogger, DATA));
  for (const [path, make] of Object.entries(errors)) {
    app.get(path, () => {
      throw make();
    });
  }
  return app;
}

const app = appThrowing({
  "/node": () => Object.assign(new Error("ENOENT: no such file or directory, open '/home/alice/vm.img'"), { code: "ENOENT" }),
  "/qemu": () => internal("start: qemu-system-x86_64: -drive file=/var/lib/other/disk.raw: Could not open: Permission denied"),
  "/inside": () => notFound(`${DATA}/guests/abc/standby/memory is missing`),
  "/auth": () =>
    new HTTPException(401, { res: new Response("missing bearer token", { headers: { "WWW-Authenticate": 'Bearer realm="x"' } }) }),
});

const get = async (path: string) => {
  const res = await app.request(path);
  return { status: res.status, body: (await res.json()) as { code: string; message: string }, challenge: res.headers.get("www-authenticate") };
};

test("host paths outside the data dir never reach the client; data-dir paths are relative to it", async () => {
  expect(await get("/node")).toMatchObject({
    status: 500,
    body: { code: "internal_error", message: "ENOENT: no such file or directory, open '<path>'" },
  });
  expect((await get("/qemu")).body.message).toBe("start: qemu-system-x86_64: -drive file=<path>: Could not open: Permission denied");
  expect(await get("/inside")).toMatchObject({ status: 404, body: { message: "<data>/guests/abc/standby/memory is missing" } });
});

test("a middleware's 401 keeps its message and its WWW-Authenticate challenge", async () => {
  expect(await get("/auth")).toEqual({
    status: 401,
    body: { code: "unauthorized", message: "missing bearer token" },
    challenge: 'Bearer realm="x"',
  });
});
