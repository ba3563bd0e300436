// Operations that cannot finish or may not start, through the HTTP API against the fake Firecracker: a fork that
// fails reaches the caller with its own status and leaves nothing behind (no row, no guest dir, no staging); an
// operation the driver's capabilities rule out is 501 before the VM is touched.
import { afterAll, afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FirecrackerDriver } from "../../src/hv/firecracker/driver.ts";
import type { Capabilities } from "../../src/hv/hypervisor.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { fakeTarget, removeScratch, scratchDir } from "../contract/vmm-targets.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

const supervisor = new VmmSupervisor();
const scratches: string[] = [];
let svc: TestService | undefined;

afterEach(async () => {
  await svc?.close();
  svc = undefined;
});
afterAll(async () => {
  await supervisor.killAll();
  for (const dir of scratches) removeScratch(dir);
});

async function firecrackerService(opts: { fakeFlags?: string[]; lacks?: (keyof Capabilities)[] } = {}) {
  const scratch = scratchDir("sv-ff-");
  scratches.push(scratch);
  const fake = fakeTarget("firecracker", scratch, opts.fakeFlags);
  const driver = new FirecrackerDriver({ command: fake.command, supervisor });
  // A driver that declares less than it has: core must go by the declaration.
  for (const capability of opts.lacks ?? []) Object.assign(driver.capabilities, { [capability]: false });
  svc = await startService({ drivers: { firecracker: driver }, guestImageDir: join(scratch, "no-default-image") });
  await registerFakeImage(svc);
  return { s: svc, calls: () => fake.calls().map((call) => `${call.method} ${call.path}`) };
}

async function createInstance(s: TestService, name: string): Promise<string> {
  const res = await s.call("POST", "/instances", { name, image: "fake", size: "128MB", overlay_size: "16MB", hypervisor: "firecracker" });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Instance rows and guest dirs, and what staging holds: everything a half-made fork could leave. */
function leftovers(s: TestService) {
  const paths = s.sv.core.paths;
  return {
    rows: s.sv.core.instances.all().map((row) => row.name),
    guestDirs: readdirSync(paths.guestsDir).length,
    staging: readdirSync(paths.tmpDir).filter((name) => !name.startsWith("discard-")),
  };
}

test("a fork of a running instance whose source cannot be resumed reports that and leaves no fork", async () => {
  // Boot and the internal standby work; every load of a snapshot (the resume of the source) fails.
  const { s } = await firecrackerService({ fakeFlags: ["--fake-fail-snapshot-load"] });
  const id = await createInstance(s, "src");
  expect((await s.call("POST", `/instances/${id}/start`)).status).toBe(200);

  const res = await s.call("POST", `/instances/${id}/fork`, { name: "child", from_running: true });

  expect(res.status).toBe(500);
  expect(leftovers(s)).toEqual({ rows: ["src"], guestDirs: 1, staging: [] });
  expect(res.body.message).toContain("resume source");
  expect(res.body.message).toContain("corrupt");
  expect((await s.call("GET", "/instances/child")).status).toBe(404);
  // The source kept its standby memory: nothing of it was lost with the failed resume.
  expect((await s.call("GET", `/instances/${id}`)).body).toMatchObject({ state: "Standby", has_snapshot: true });
});

test("a fork the Firecracker driver refuses as not_supported is 501 and leaves no fork", async () => {
  const { s } = await firecrackerService();
  const id = await createInstance(s, "src");
  // A drive named by an absolute path inside the guest dir: Firecracker has no drive override, so a fork of its
  // memory would keep using the source's disk, and the driver refuses it.
  const guest = s.sv.core.paths.guest(id);
  const record = join(guest, "vm.json");
  writeFileSync(record, JSON.stringify(withAbsoluteDisks(JSON.parse(readFileSync(record, "utf8")), guest)));
  expect((await s.call("POST", `/instances/${id}/start`)).status).toBe(200);
  expect((await s.call("POST", `/instances/${id}/standby`)).status).toBe(200);

  const res = await s.call("POST", `/instances/${id}/fork`, { name: "child" });

  expect({ status: res.status, code: res.body.code }).toEqual({ status: 501, code: "not_supported" });
  expect(res.body.message).toContain("absolute path");
  expect(leftovers(s)).toEqual({ rows: ["src"], guestDirs: 1, staging: [] });
});

test("operations the driver's capabilities rule out are 501 before the VM is touched", async () => {
  const { s, calls } = await firecrackerService({ lacks: ["snapshot", "standby", "fork"] });
  const id = await createInstance(s, "src");
  expect((await s.call("POST", `/instances/${id}/start`)).status).toBe(200);
  const before = calls();

  const refused = [
    await s.call("POST", `/instances/${id}/snapshots`, { kind: "Standby" }),
    await s.call("POST", `/instances/${id}/standby`),
    await s.call("POST", `/instances/${id}/fork`, { name: "child", from_running: true }),
  ];

  expect(refused.map((res) => [res.status, res.body.code])).toEqual([
    [501, "not_supported"],
    [501, "not_supported"],
    [501, "not_supported"],
  ]);
  expect(refused.map((res) => res.body.message)).toEqual([
    expect.stringContaining("no snapshot support"),
    expect.stringContaining("no standby support"),
    expect.stringContaining("no fork support"),
  ]);
  // No pause, no snapshot: the VMM was only asked for its state.
  expect(calls().slice(before.length).filter((call) => call !== "GET /")).toEqual([]);
  expect((await s.call("GET", `/instances/${id}`)).body.state).toBe("Running");
  expect(leftovers(s)).toEqual({ rows: ["src"], guestDirs: 1, staging: [] });
});

/** The VM config wherever the record keeps it: every disk path becomes absolute under `guest`. */
function withAbsoluteDisks(value: unknown, guest: string): unknown {
  if (Array.isArray(value)) return value.map((item) => withAbsoluteDisks(item, guest));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).map(([key, item]) => {
    if (key === "disks" && Array.isArray(item)) return [key, item.map((disk) => ({ ...disk, path: join(guest, disk.path) }))];
    return [key, withAbsoluteDisks(item, guest)];
  });
  return Object.fromEntries(entries);
}
