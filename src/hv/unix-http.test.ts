import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HypervisorError } from "./hypervisor.ts";
import { nativeErrorMessage, UnixHttpClient, VmmHttpError } from "./unix-http.ts";

/** The error a promise rejects with; a promise that resolves fails the test. */
async function rejection<T extends Error = HypervisorError>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (err) {
    return err as T;
  }
  throw new Error("expected a rejection");
}

let dir: string;
let server: ReturnType<typeof Bun.serve>;
let client: UnixHttpClient;
const seen: { method: string; path: string; contentType: string | null; body: string }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-uhttp-"));
  server = Bun.serve({
    unix: join(dir, "api.sock"),
    async fetch(req) {
      const path = new URL(req.url).pathname;
      seen.push({ method: req.method, path, contentType: req.headers.get("content-type"), body: await req.text() });
      switch (path) {
        case "/api/v1/info":
          return Response.json({ state: "Running" });
        case "/api/v1/create":
          return new Response(null, { status: 204 });
        case "/api/v1/ch-array":
          return Response.json(["Error from API", "The VM could not be paused", "Invalid transition"], { status: 500 });
        case "/api/v1/ch-text":
          return new Response("VM is not created\n", { status: 404 });
        case "/api/v1/fc-fault":
          return Response.json({ fault_message: "The requested operation is not supported before starting the microVM." }, { status: 400 });
        case "/api/v1/slow":
          await Bun.sleep(2_000);
          return new Response(null, { status: 204 });
        default:
          return new Response("not json", { status: 200 });
      }
    },
  });
  client = new UnixHttpClient(join(dir, "api.sock"), "http://localhost/api/v1");
});

afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

describe("UnixHttpClient", () => {
  test("GET parses JSON; PUT sends a JSON body; a bodyless PUT sends no body; 204 is undefined", async () => {
    expect(await client.request("GET", "/info")).toEqual({ state: "Running" });
    expect(await client.request("PUT", "/create", { payload: { kernel: "/k" } })).toBeUndefined();
    expect(await client.request("PUT", "/create")).toBeUndefined();
    const [get, put, bare] = seen.slice(-3);
    expect(get).toMatchObject({ method: "GET", path: "/api/v1/info", body: "" });
    expect(put).toEqual({ method: "PUT", path: "/api/v1/create", contentType: "application/json", body: '{"payload":{"kernel":"/k"}}' });
    expect(bare).toMatchObject({ method: "PUT", contentType: null, body: "" });
  });

  test("non-2xx answers become VmmHttpError (kind failed) carrying the VMM's own words", async () => {
    const cases: [string, number, string][] = [
      ["/ch-array", 500, "Error from API: The VM could not be paused: Invalid transition"],
      ["/ch-text", 404, "VM is not created"],
      ["/fc-fault", 400, "The requested operation is not supported before starting the microVM."],
    ];
    for (const [path, status, message] of cases) {
      const err = await rejection<VmmHttpError>(client.request("PUT", path));
      expect(err).toBeInstanceOf(VmmHttpError);
      expect(err).toMatchObject({ kind: "failed", status, nativeMessage: message });
      expect(err.message).toBe(`PUT ${path}: HTTP ${status}: ${message}`);
    }
  });

  test("a 2xx answer that is not JSON is an error, not a crash", async () => {
    const err = await rejection(client.request("GET", "/other"));
    expect(err).toBeInstanceOf(HypervisorError);
    expect(err.message).toContain("answer is not JSON");
  });

  test("no answer in time is kind timeout; no socket is kind gone", async () => {
    const slow = await client.request("PUT", "/slow", undefined, 100).catch((e) => e);
    expect(slow).toMatchObject({ kind: "timeout", message: "PUT /slow: no answer within 100 ms" });
    const missing = new UnixHttpClient(join(dir, "missing.sock"), "http://localhost");
    const gone = await rejection(missing.request("GET", "/"));
    expect(gone).toBeInstanceOf(HypervisorError);
    expect(gone.kind).toBe("gone");
  });
});

test("nativeErrorMessage reads CH arrays, FC fault_message and plain text", () => {
  expect(nativeErrorMessage('["a","b"]')).toBe("a: b");
  expect(nativeErrorMessage('{"fault_message":"bad"}')).toBe("bad");
  expect(nativeErrorMessage("  plain\n")).toBe("plain");
  expect(nativeErrorMessage('{"other":1}')).toBe('{"other":1}');
  expect(nativeErrorMessage("")).toBe("(empty body)");
});
