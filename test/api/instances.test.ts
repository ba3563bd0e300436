// The instance API without booting anything: validation, status codes, error shapes, state rules that hold for
// a Stopped instance, and the data dir it leaves behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

const create = (body: Record<string, unknown>) => svc.call("POST", "/instances", { image: "fake", size: "256MB", overlay_size: "64MB", ...body });

describe("POST /instances", () => {
  test("creates a Stopped instance with the reference's fields and a sparse disk", async () => {
    const res = await create({ name: "alpha", vcpus: 2, tags: { team: "core" }, env: { GREETING: "hi" } });
    expect(res.status).toBe(201);
    const inst = res.body;
    expect(inst).toMatchObject({
      name: "alpha",
      image: "fake",
      state: "Stopped",
      state_error: null,
      size: "256MB",
      overlay_size: "64MB",
      vcpus: 2,
      env: { GREETING: "hi" },
      volumes: [],
      started_at: null,
      has_snapshot: false,
      hypervisor: "qemu",
      tags: { team: "core" },
      snapshot_policy: null,
      fork_of_snapshot: null,
    });
    expect(inst.id).toMatch(/^[a-z][a-z0-9]{23}$/);
    const disk = join(svc.dataDir, "guests", inst.id, "disk.raw");
    expect(statSync(disk).size).toBe(64 * 1024 * 1024);
    expect(statSync(disk).blocks * 512).toBeLessThan(1024 * 1024);
  });

  test("rejects bad input with a 400 naming the field", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: "Bad_Name" }, /name/],
      [{ name: "x".repeat(64) }, /name/],
      [{ name: "neg", size: "-1MB" }, /size/],
      [{ name: "tiny", size: "1MB" }, /size must be at least/],
      [{ name: "nounit", size: "12XB" }, /size/],
      [{ name: "cpus", vcpus: 0 }, /vcpus/],
      [{ name: "small-disk", overlay_size: "1MB" }, /overlay_size/],
      [{ name: "badtags", tags: { "bad!": "x" } }, /tags/],
    ];
    for (const [body, message] of cases) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe("invalid_request");
      expect(res.body.message).toMatch(message);
    }
  });

  test("a duplicate name is 400 already_exists; unknown image 404; vz 501", async () => {
    await create({ name: "dup" });
    expect((await create({ name: "dup" })).body).toMatchObject({ code: "already_exists" });
    const noImage = await create({ name: "noimg", image: "missing" });
    expect(noImage.status).toBe(404);
    expect(noImage.body.message).toMatch(/image "missing" not found/);
    const vz = await create({ name: "mac", hypervisor: "vz" });
    expect(vz.status).toBe(501);
    expect(vz.body.code).toBe("not_supported");
  });

  test("snapshot_policy is normalised, echoed, and validated with the reference's codes", async () => {
    const ok = await create({ name: "policy", snapshot_policy: { compression: { enabled: true, algorithm: "LZ4" }, standby_compression_delay: "90s" } });
    expect(ok.status).toBe(201);
    expect(ok.body.snapshot_policy).toEqual({ compression: { enabled: true, algorithm: "lz4", level: 0 }, standby_compression_delay: "1m30s" });
    const badLevel = await create({ name: "p2", snapshot_policy: { compression: { enabled: true, algorithm: "zstd", level: 0 } } });
    expect(badLevel.body).toMatchObject({ code: "invalid_snapshot_policy" });
    const badAlgo = await create({ name: "p3", snapshot_policy: { compression: { enabled: false, algorithm: "brotli" } } });
    expect(badAlgo.body).toMatchObject({ code: "invalid_snapshot_policy" });
    const negative = await create({ name: "p4", snapshot_policy: { standby_compression_delay: "-5s" } });
    expect(negative.body).toMatchObject({ code: "invalid_request" });
    expect(negative.body.message).toMatch(/cannot be negative/);
  });
});

describe("instance lookups and state rules", () => {
  test("{id} resolves by id, name and unique id prefix; unknown is 404 JSON", async () => {
    const { body: inst } = await create({ name: "lookup" });
    expect((await svc.call("GET", `/instances/${inst.id}`)).body.name).toBe("lookup");
    expect((await svc.call("GET", "/instances/lookup")).body.id).toBe(inst.id);
    expect((await svc.call("GET", `/instances/${inst.id.slice(0, 12)}`)).body.id).toBe(inst.id);
    const missing = await svc.call("GET", "/instances/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ code: "not_found", message: "instance not found" });
  });

  test("restore of a Stopped instance is 409 invalid_state; standby too; stop is idempotent", async () => {
    await create({ name: "stopped" });
    const restore = await svc.call("POST", "/instances/stopped/restore");
    expect(restore.status).toBe(409);
    expect(restore.body.code).toBe("invalid_state");
    const standby = await svc.call("POST", "/instances/stopped/standby");
    expect(standby.status).toBe(409);
    expect((await svc.call("POST", "/instances/stopped/stop")).body.state).toBe("Stopped");
  });

  test("standby validates compression before looking at the state", async () => {
    await create({ name: "sb" });
    const algo = await svc.call("POST", "/instances/sb/standby", { compression: { enabled: true, algorithm: "brotli" } });
    expect(algo.body.code).toBe("invalid_snapshot_compression");
    const level = await svc.call("POST", "/instances/sb/standby", { compression: { enabled: true, algorithm: "lz4", level: 10 } });
    expect(level.body.code).toBe("invalid_snapshot_compression");
    const delay = await svc.call("POST", "/instances/sb/standby", { compression_delay: "-5s" });
    expect(delay.body.code).toBe("invalid_compression_delay");
    const bad = await svc.call("POST", "/instances/sb/standby", { compression_delay: "soon" });
    expect(bad.body.code).toBe("invalid_compression_delay");
  });

  test("exec needs a Running instance", async () => {
    await create({ name: "noexec" });
    const res = await svc.call("POST", "/instances/noexec/exec", { command: ["true"] });
    expect(res.status).toBe(409);
  });

  test("delete removes the row and the guest dir", async () => {
    const { body: inst } = await create({ name: "gone" });
    expect((await svc.call("DELETE", "/instances/gone")).status).toBe(204);
    expect((await svc.call("GET", "/instances/gone")).status).toBe(404);
    expect(existsSync(join(svc.dataDir, "guests", inst.id))).toBe(false);
  });

  test("list is ordered by creation and pages with limit + cursor", async () => {
    const all = (await svc.call("GET", "/instances")).body as { id: string }[];
    expect(all.length).toBeGreaterThan(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await svc.call("GET", `/instances?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.map((i: { id: string }) => i.id));
      cursor = page.headers.get("x-next-cursor");
    } while (cursor);
    expect(seen).toEqual(all.map((i) => i.id));
    expect((await svc.call("GET", "/instances?cursor=garbage")).status).toBe(400);
  });
});

describe("service surface", () => {
  test("/health, JSON 404 for unknown routes, /openapi.json, /docs, /metrics", async () => {
    expect((await svc.call("GET", "/health")).body).toEqual({ status: "ok" });
    const unknown = await svc.call("GET", "/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
    const doc = (await svc.call("GET", "/openapi.json")).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/instances", "/instances/{id}/standby", "/snapshots/{snapshotId}/fork", "/instances/{id}/snapshot-schedule"]),
    );
    expect(doc.components.schemas.Snapshot.properties.ref_count).toBeDefined();
    expect((await svc.call("GET", "/docs")).body).toContain("openapi.json");
    const metrics = (await svc.call("GET", "/metrics")).body as string;
    expect(metrics).toContain('snapvisor_http_requests_total{method="GET",route="/health",status="200"}');
  });

  test("the guest dir layout leaves no staging behind", () => {
    expect(readdirSync(join(svc.dataDir, "tmp"))).toEqual([]);
  });
});
