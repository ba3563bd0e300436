// The 1 MiB body limit exempts exactly one route, the file upload: the same body is 413 anywhere else, including a
// PUT to another path and a POST to the upload path.
import { expect, test } from "bun:test";
import { Hono } from "hono";
import { limitBody, MAX_BODY_BYTES, requireBody } from "./request-body.ts";

const app = new Hono();
app.use("*", limitBody);
app.use("*", requireBody);
app.all("*", async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));

const big = () => new Uint8Array(MAX_BODY_BYTES + 1);

test("PUT /instances/{id}/files takes a body over the limit, and an empty one", async () => {
  const res = await app.request("/instances/web-1/files?path=/x", { method: "PUT", body: big() });
  expect(await res.json()).toEqual({ bytes: MAX_BODY_BYTES + 1 });
  const empty = await app.request("/instances/web-1/files?path=/x", { method: "PUT" });
  expect(await empty.json()).toEqual({ bytes: 0 });
});

test("every other route keeps the limit", async () => {
  for (const [method, path] of [["POST", "/instances/web-1/files"], ["PUT", "/instances/web-1/snapshot-schedule"], ["PUT", "/instances/web-1/files/x"]]) {
    const res = await app.request(path!, { method, body: big() });
    expect({ method, path, status: res.status }).toEqual({ method, path, status: 413 });
  }
});
