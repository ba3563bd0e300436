// Bad input and a host too small for the request are 4xx at the boundary, never a 500 later: sizes against the
// host's memory and the data dir's free disk, every number's range, env names the guest shell can export, and
// a full disk that leaves nothing half-written. The host is played by the `hostResources` seam of the
// composition root: no VMM is started (every refusal here comes before one would be).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostResources } from "../../src/core/service/host-resources.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

const GiB = 1024 ** 3;
const HOST = { totalBytes: 8 * GiB, availableBytes: 4 * GiB, freeBytes: 100 * GiB };
let host = { ...HOST };
const hostResources: HostResources = {
  memory: () => ({ totalBytes: host.totalBytes, availableBytes: host.availableBytes }),
  freeBytes: async () => host.freeBytes,
};

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ hostResources });
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

/** Each test starts from the roomy host. */
function withHost(changes: Partial<typeof HOST>): void {
  host = { ...HOST, ...changes };
}

const create = (body: Record<string, unknown>) =>
  svc.call("POST", "/instances", { image: "fake", size: "256MB", overlay_size: "64MB", ...body });

async function created(name: string): Promise<string> {
  withHost({});
  const res = await create({ name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** A Standby instance made of files: what restore, snapshots and forks of it start from. */
async function standbyInstance(name: string): Promise<string> {
  const id = await created(name);
  const standby = join(svc.dataDir, "guests", id, "standby");
  mkdirSync(standby);
  writeFileSync(join(standby, "memory"), "guest memory");
  expect((await svc.call("GET", `/instances/${id}`)).body.state).toBe("Standby");
  return id;
}

function expectError(res: { status: number; body: any }, status: number, code: string, message: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.code).toBe(code);
  expect(res.body.message).toMatch(message);
}

const staged = () => readdirSync(join(svc.dataDir, "tmp"));
const listed = async (path: string) => (await svc.call("GET", path)).body as unknown[];

describe("sizes and counts against the host at create", () => {
  test("memory beyond the host's total is 409 insufficient_resources with both numbers", async () => {
    withHost({});
    expectError(await create({ name: "huge", size: "7PB" }), 409, "insufficient_resources", /size .*exceeds the host's total memory of 8589934592 bytes/);
    expectError(await create({ name: "huge", size: "9GB" }), 409, "insufficient_resources", /9663676416 bytes/);
  });

  test("an overlay beyond the data dir's free space is 409 naming the data dir and both numbers", async () => {
    withHost({ freeBytes: GiB });
    const res = await create({ name: "big-disk", overlay_size: "1PB" });
    expectError(res, 409, "insufficient_resources", /overlay_size 1125899906842624 bytes .*data dir .*: 1073741824 bytes .* free/);
    expect(staged()).toEqual([]);
  });

  test("vcpus: 1..64 (400 otherwise)", async () => {
    withHost({});
    for (const vcpus of [0, -1, 65, 1.5, "2"]) expectError(await create({ name: "cpus", vcpus }), 400, "invalid_request", /^vcpus/);
    expect((await create({ name: "cpus", vcpus: 64 })).status).toBe(201);
  });

  test("strings are bounded and checked: image name, sizes", async () => {
    withHost({});
    expectError(await create({ name: "img", image: "../etc" }), 400, "invalid_request", /^image/);
    expectError(await create({ name: "sz", size: "1".repeat(40) }), 400, "invalid_request", /^size/);
    expectError(await create({ name: "sz", overlay_size: "lots" }), 400, "invalid_request", /^overlay_size/);
  });
});

describe("env: what every exec exports in the guest shell", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ "A=B": "x" }, /env: invalid name "A=B"/],
    [{ "": "x" }, /env: invalid name ""/],
    [{ "1ABC": "x" }, /env: invalid name "1ABC"/],
    [{ "A B": "x" }, /env: invalid name "A B"/],
    [{ OK: "x", "bad-name": "y" }, /env: invalid name "bad-name"/],
    [{ NUL: "a\u0000b" }, /env: value of "NUL" contains a NUL character/],
    [{ NUM: 5 }, /env: value of "NUM" must be a string/],
    [{ ["X".repeat(129)]: "x" }, /env: name "XXX.*longer than 128 characters/],
    [Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`V${i}`, "x"])), /env: too many variables: 129/],
    [{ BIG: "x".repeat(64 * 1024) }, /env: names and values take 65539 bytes/],
  ];
  test.each(cases)("%j is a 400 naming the key", async (env, message) => {
    withHost({});
    expectError(await create({ name: "env", env }), 400, "invalid_request", message);
  });

  test("__proto__ is refused, not silently dropped", async () => {
    withHost({});
    const res = await svc.call("POST", "/instances", '{"name":"proto","image":"fake","size":"256MB","overlay_size":"64MB","env":{"__proto__":"x"}}');
    expectError(res, 400, "invalid_request", /env: name "__proto__" is reserved/);
  });

  test("shell identifiers with any value but NUL are kept as given", async () => {
    withHost({});
    const env = { _UNDER: "", lower_case: "it's \"quoted\" $HOME `x`\n\ttab", ÜTF: undefined, Z9: "ü 🎉" };
    delete env.ÜTF;
    const res = await create({ name: "env-ok", env });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.env).toEqual(env);
  });
});

describe("schedules", () => {
  test("name_prefix: empty, bad charset or too long is a 400 naming it; retention.max_count is bounded", async () => {
    const id = await created("sched");
    const put = (body: Record<string, unknown>) =>
      svc.call("PUT", `/instances/${id}/snapshot-schedule`, { interval: "1h", retention: { max_count: 3 }, ...body });
    for (const name_prefix of ["", "Bad_Prefix", "-lead", "x".repeat(48)]) {
      expectError(await put({ name_prefix }), 400, "invalid_request", /^name_prefix/);
    }
    expectError(await put({ retention: { max_count: -1 } }), 400, "invalid_request", /^retention.max_count/);
    expectError(await put({ retention: { max_count: 1e9 } }), 400, "invalid_request", /^retention.max_count/);
    const ok = await put({ name_prefix: "hourly" });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.name_prefix).toBe("hourly");
  });
});

describe("host memory before a VMM starts", () => {
  test("start of a guest larger than what is available is 409 with the numbers; the instance stays Stopped", async () => {
    const id = await created("start-big");
    withHost({ availableBytes: 200 * 1024 * 1024 });
    const res = await svc.call("POST", `/instances/${id}/start`);
    expectError(res, 409, "insufficient_resources", /booting start-big needs 335544320 bytes .* of host memory \(guest 268435456 bytes .*\), 209715200 bytes .* available/);
    expect((await svc.call("GET", `/instances/${id}`)).body.state).toBe("Stopped");
  });

  test("restore is 409 and the instance stays Standby with its memory", async () => {
    const id = await standbyInstance("restore-big");
    withHost({ availableBytes: 100 * 1024 * 1024 });
    expectError(await svc.call("POST", `/instances/${id}/restore`), 409, "insufficient_resources", /restoring restore-big needs/);
    expect((await svc.call("GET", `/instances/${id}`)).body.state).toBe("Standby");
  });

  test("a fork to Running is 409 and leaves no fork behind", async () => {
    await created("fork-src");
    withHost({ availableBytes: 100 * 1024 * 1024 });
    const before = (await listed("/instances")).length;
    const res = await svc.call("POST", "/instances/fork-src/fork", { name: "fork-big", target_state: "Running" });
    expectError(res, 409, "insufficient_resources", /fork-big needs .* available/);
    expect((await listed("/instances")).length).toBe(before);
    expect(staged()).toEqual([]);
  });
});

describe("a full data dir: 507 insufficient_storage, nothing half-written", () => {
  test("a snapshot that cannot fit names the data dir and the bytes; no staging or snapshot dir is left", async () => {
    const id = await standbyInstance("snap-full");
    writeFileSync(join(svc.dataDir, "guests", id, "logs", "serial.log"), "x".repeat(1024 * 1024));
    withHost({ freeBytes: 4096 });
    const snapshotDirs = readdirSync(join(svc.dataDir, "snapshots"));
    const res = await svc.call("POST", "/instances/snap-full/snapshots", { kind: "Standby" });
    expectError(res, 507, "insufficient_storage", /snapshot of snap-full needs 10\d{5} bytes .*in the data dir <data>, 4096 bytes .* free/);
    expect(staged()).toEqual([]);
    expect(readdirSync(join(svc.dataDir, "snapshots"))).toEqual(snapshotDirs);
    expect((await svc.call("GET", "/instances/snap-full")).body.state).toBe("Standby");
  });

  test("a fork whose disk copy cannot fit is 507 and leaves no fork", async () => {
    const id = await created("fork-full");
    writeFileSync(join(svc.dataDir, "guests", id, "logs", "serial.log"), "x".repeat(1024 * 1024));
    withHost({ freeBytes: 4096 });
    const before = (await listed("/instances")).length;
    const res = await svc.call("POST", "/instances/fork-full/fork", { name: "fork-full-copy" });
    expectError(res, 507, "insufficient_storage", /^fork needs 10\d{5} bytes .*in the data dir <data>, 4096 bytes .* free/);
    expect((await listed("/instances")).length).toBe(before);
    expect(staged()).toEqual([]);
  });

  test("a restore whose compressed memory cannot be decompressed is 507; the instance stays in Standby as it was", async () => {
    const id = await standbyInstance("restore-full");
    const standby = join(svc.dataDir, "guests", id, "standby");
    renameSync(join(standby, "memory"), join(standby, "memory.zst"));
    withHost({ freeBytes: 4096 });
    const res = await svc.call("POST", "/instances/restore-full/restore");
    expectError(res, 507, "insufficient_storage", /^restore of restore-full needs 268435456 bytes .*in the data dir <data>, 4096 bytes .* free/);
    expect(readdirSync(standby)).toEqual(["memory.zst"]);
    expect((await svc.call("GET", "/instances/restore-full")).body.state).toBe("Standby");
  });

  test("a snapshot restore whose copy cannot fit is 507 before the instance changes", async () => {
    const id = await standbyInstance("restore-snap-full");
    // Disk blocks the snapshot keeps (and a restore copies back).
    writeFileSync(join(svc.dataDir, "guests", id, "disk.raw"), "x".repeat(1024 * 1024));
    const snap = await svc.call("POST", "/instances/restore-snap-full/snapshots", { kind: "Standby" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    rmSync(join(svc.dataDir, "guests", id, "standby"), { recursive: true });
    withHost({ freeBytes: 4096 });
    const res = await svc.call("POST", `/instances/restore-snap-full/snapshots/${snap.body.id}/restore`, { target_state: "Stopped" });
    expectError(res, 507, "insufficient_storage", /^restore of snapshot \S+ needs 10\d{5} bytes .*in the data dir <data>, 4096 bytes .* free/);
    expect(staged()).toEqual([]);
    expect((await svc.call("GET", "/instances/restore-snap-full")).body.state).toBe("Stopped");
  });

  test("an image copy that cannot fit is 507 and registers nothing", async () => {
    withHost({ freeBytes: 0 });
    const sources = join(svc.dataDir, "image-sources", "full");
    mkdirSync(sources, { recursive: true });
    writeFileSync(join(sources, "kernel"), "k".repeat(64 * 1024));
    const res = await svc.call("POST", "/images", { name: "no-room", kernel: join(sources, "kernel") });
    expectError(res, 507, "insufficient_storage", /image no-room needs \d+ bytes .*data dir <data>, 0 bytes free/);
    expect((await svc.call("GET", "/images/no-room")).status).toBe(404);
    expect(staged()).toEqual([]);
  });
});
