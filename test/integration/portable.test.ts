// Snapshots that leave the host, with a real guest: verify, export → import onto a second service (another data
// dir stands in for another host), a fork there continuing the guest's counter; a flipped byte or a manifest
// this host cannot satisfy refused with nothing left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { TAR_BLOCK, tarEntryBytes, tarHeader, tarPaddingBytes } from "../../src/store/archive/tar.ts";
import { startService, type TestService } from "../harness.ts";
import { bootCount, bootGuest, tick, vmmProcesses, waitForTicks, withGuestService } from "./guest.ts";

let a: TestService;
let b: TestService;
withGuestService((s) => (a = s));
beforeAll(async () => {
  b = await startService();
});
afterAll(async () => {
  await b.close();
  expect(vmmProcesses(b.dataDir)).toEqual([]);
});

const importInto = (svc: TestService, archive: Uint8Array) =>
  svc.sv.app.request("/snapshots/import", { method: "POST", body: archive, headers: { "content-type": "application/x-tar" } });

async function exportOf(svc: TestService, id: string, query = ""): Promise<{ bytes: Uint8Array; length: string | null }> {
  const res = await svc.sv.app.request(`/snapshots/${id}/export${query}`);
  expect(res.status).toBe(200);
  return { bytes: new Uint8Array(await res.arrayBuffer()), length: res.headers.get("content-length") };
}

/** The archive with its first member (the manifest) replaced by `edit` of it. */
function withManifest(archive: Uint8Array, edit: (m: any) => unknown): Uint8Array {
  const size = Number.parseInt(new TextDecoder().decode(archive.subarray(124, 135)), 8);
  const manifest = JSON.parse(new TextDecoder().decode(archive.subarray(TAR_BLOCK, TAR_BLOCK + size)));
  const json = new TextEncoder().encode(JSON.stringify(edit(manifest)));
  return Buffer.concat([tarHeader("manifest.json", json.length, new Date()), json, new Uint8Array(tarPaddingBytes(json.length)), archive.subarray(tarEntryBytes(size))]);
}

/** Nothing of a refused import is visible: no row, no payload dir, no staging left. */
async function expectNothingImported(svc: TestService, id: string): Promise<void> {
  expect((await svc.call("GET", `/snapshots/${id}`)).status).toBe(404);
  expect(readdirSync(join(svc.dataDir, "snapshots"))).not.toContain(id);
  expect(readdirSync(join(svc.dataDir, "tmp"))).toEqual([]);
}

describe("a standby snapshot moved to another data dir", () => {
  let id: string;
  let before: number;
  let plain: Uint8Array;

  test("the snapshot is hashed, verifies, and is compatible here", async () => {
    await bootGuest(a, "mover");
    await waitForTicks(a, "mover", 3);
    before = await tick(a, "mover");
    const snap = await a.call("POST", "/instances/mover/snapshots", { kind: "Standby", name: "moving" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    id = snap.body.id;
    const verified = await a.call("POST", `/snapshots/${id}/verify`);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body).toMatchObject({ ok: true, problems: [] });
    const manifest = (await a.call("GET", `/snapshots/${id}/manifest`)).body;
    expect(manifest.job.state).toBe("done");
    expect(manifest.manifest).toMatchObject({ hypervisor: { type: "qemu" }, machine: { type: "pc-q35-7.2" }, memory: { bytes: 256 << 20 }, image: { name: "default" } });
    expect((await a.call("GET", `/snapshots/${id}/compatibility`)).body).toEqual({ compatible: true, reasons: [] });
    await a.call("POST", "/instances/mover/stop");
  }, 240_000);

  test("an uncompressed export has its Content-Length; a flipped byte in it is refused and leaves nothing", async () => {
    const exported = await exportOf(a, id);
    plain = exported.bytes;
    expect(Number(exported.length)).toBe(plain.length);
    const flipped = plain.slice();
    flipped[plain.length - 4096]! ^= 0x40; // inside the last member's body
    const refused = await importInto(b, flipped);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).code).toBe("invalid_archive");
    await expectNothingImported(b, id);
    const truncated = await importInto(b, plain.subarray(0, plain.length >> 1));
    expect(truncated.status).toBe(400);
    await expectNothingImported(b, id);
  }, 120_000);

  test("a manifest of a newer format, an unknown machine, a newer QEMU or another accel is refused with typed reasons", async () => {
    const newer = await importInto(b, withManifest(plain, (m) => ({ ...m, format_version: m.format_version + 1 })));
    expect(newer.status).toBe(409);
    expect(await newer.json()).toMatchObject({ code: "incompatible_snapshot", reasons: [{ code: "format_too_new" }] });
    const unknownMachine = await importInto(b, withManifest(plain, (m) => ({ ...m, machine: { ...m.machine, type: "pc-q35-99.9" } })));
    expect(((await unknownMachine.json()) as any).reasons.map((r: { code: string }) => r.code)).toEqual(["machine_type_unknown"]);
    const newerQemu = await importInto(b, withManifest(plain, (m) => ({ ...m, hypervisor: { ...m.hypervisor, version: "99.0.0" }, machine: { ...m.machine, type: "pc-q35-99.0" } })));
    expect(((await newerQemu.json()) as any).reasons.map((r: { code: string }) => r.code)).toEqual(["hypervisor_too_old"]);
    const accels = (await b.sv.core.hypervisors.qemu!.restoreHost!()).accels;
    const other = ["kvm", "tcg"].find((x) => !accels.includes(x));
    if (other) {
      const moved = await importInto(b, withManifest(plain, (m) => ({ ...m, accel: other })));
      expect(moved.status).toBe(409);
      expect(((await moved.json()) as any).reasons.map((r: { code: string }) => r.code)).toContain("accel_differs");
    }
    await expectNothingImported(b, id);
  }, 120_000);

  test("a zstd export imports on the second service, verifies there, and a fork continues the counter", async () => {
    const { bytes, length } = await exportOf(a, id, "?compress=zstd");
    expect(length).toBeNull(); // compressed as it streams
    expect(bytes.length).toBeLessThan(plain.length);
    const imported = await importInto(b, bytes);
    expect(imported.status, await imported.clone().text()).toBe(201);
    expect(await imported.json()).toMatchObject({ id, name: "moving", kind: "Standby" });
    expect((await b.call("POST", `/snapshots/${id}/verify`)).body).toMatchObject({ ok: true });
    expect((await importInto(b, bytes)).status).toBe(409); // already there

    const fork = await b.call("POST", `/snapshots/${id}/fork`, { name: "landed" });
    expect(fork.status, JSON.stringify(fork.body)).toBeLessThan(300);
    expect(fork.body.state).toBe("Running");
    expect(await tick(b, "landed")).toBeGreaterThanOrEqual(before);
    expect(await bootCount(b, "landed")).toBe(0); // resumed, not booted
    expect(vmmProcesses(a.dataDir).length).toBe(0);
    await b.call("DELETE", "/instances/landed");
  }, 240_000);
});
