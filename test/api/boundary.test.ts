// The HTTP boundary: optional bodies may be empty, every body is size-limited, unknown fields are refused by
// name, and the data dir and database are private to the service user.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_BODY_BYTES } from "../../src/plugin/request-body.ts";
import { startService } from "../harness.ts";
import { startFakeVmmService, type FakeVmmService } from "./fake-vmm-service.ts";

let svc: FakeVmmService;

beforeAll(async () => {
  svc = await startFakeVmmService();
});
afterAll(() => svc.close());

/** A POST with `Content-Type: application/json` and exactly `body` (the harness would JSON-encode it). */
const postRaw = (path: string, body: string | ReadableStream) =>
  svc.sv.app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("optional bodies", () => {
  test("an empty JSON body is {} on start, standby, restore and stop", async () => {
    const id = await svc.createInstance("empty-bodies");
    const steps = [["start", "Running", ""], ["standby", "Standby", " \n"], ["restore", "Running", "{}"], ["stop", "Stopped", ""]];
    for (const [action, state, body] of steps) {
      const res = await postRaw(`/instances/${id}/${action}`, body!);
      expect({ action, status: res.status }).toEqual({ action, status: 200 });
      expect(((await res.json()) as { state: string }).state).toBe(state!);
    }
  });

  test("a required body is still required", async () => {
    const res = await postRaw("/instances", "");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "invalid_request", message: "request body is required" });
  });
});

describe("body size", () => {
  const json = (bytes: number) => JSON.stringify({ name: "big", image: "x".repeat(bytes - 30) });

  test("a 2 MiB body is 413 payload_too_large, with or without Content-Length", async () => {
    const big = json(2 * 1024 * 1024);
    const streamed = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    for (const body of [big, streamed]) {
      const res = await postRaw("/instances", body);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ code: "payload_too_large", message: expect.stringContaining(String(MAX_BODY_BYTES)) });
    }
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: svc.sv.app.fetch });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/instances`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: big,
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe("payload_too_large");
    } finally {
      await server.stop(true);
    }
  });

  test("a body just under the limit is judged on its content, not its size", async () => {
    const res = await postRaw("/instances", json(MAX_BODY_BYTES - 1024));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toStartWith("image");
  });
});

describe("unknown fields", () => {
  test("every request body in /openapi.json refuses an unknown field, naming it", async () => {
    const doc: any = (await svc.call("GET", "/openapi.json")).body;
    const checked: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (!op.requestBody?.content?.["application/json"]) continue; // an upload's body is the file itself
        const url = path.replace(/\{[^}]+\}/g, "no-such-id");
        const res = await svc.call(method.toUpperCase(), url, { target_sate: "Running" });
        expect({ route: `${method} ${path}`, status: res.status, body: res.body }).toEqual({
          route: `${method} ${path}`,
          status: 400,
          body: { code: "invalid_request", message: 'unknown field "target_sate"' },
        });
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(8);
  });

  test("a nested unknown field is named with its path", async () => {
    const id = await svc.createInstance("nested-unknown");
    const res = await svc.call("PUT", `/instances/${id}/snapshot-schedule`, { interval: "1h", retention: { max_count: 2, maxage: "1h" } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('unknown field "retention.maxage"');
  });
});

describe("file modes", () => {
  test("a pre-existing 0755 data dir becomes 0700, the database and its WAL files 0600", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sv-modes-"));
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, "guests"), { mode: 0o755 });
    writeFileSync(join(dataDir, "snapvisor.db"), "", { mode: 0o644 }); // left by an older version
    const modes = await startService({ dataDir });
    try {
      await modes.call("GET", "/instances"); // the database is in use
      const mode = (file: string) => statSync(join(dataDir, file)).mode & 0o777;
      expect(mode(".")).toBe(0o700);
      expect(mode("guests")).toBe(0o700);
      for (const file of ["snapvisor.db", "snapvisor.db-wal", "snapvisor.db-shm"]) expect({ file, mode: mode(file) }).toEqual({ file, mode: 0o600 });
    } finally {
      await modes.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
