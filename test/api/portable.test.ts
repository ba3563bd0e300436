// Portable snapshots through the API on the fake VMM: the manifest job, verify reporting damage by file and chunk,
// export → import between two services (two data dirs), the archive as standard tools read it, and imports and
// restores refused with typed reasons; a refused import leaves nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TAR_BLOCK, TAR_END, tarEntryBytes, tarHeader, tarPaddingBytes } from "../../src/store/archive/tar.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";
import { startFakeVmmService, type FakeVmmService } from "./fake-vmm-service.ts";

let a: FakeVmmService;
let b: FakeVmmService;
const scratch = mkdtempSync(join(tmpdir(), "sv-portable-"));
beforeAll(async () => {
  [a, b] = await Promise.all([startFakeVmmService(), startFakeVmmService()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

/** Waits (bounded) for the background hashing of `id` to end; returns its manifest. */
async function hashed(svc: TestService, id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const res = await svc.call("GET", `/snapshots/${id}/manifest`);
    expect(res.status).toBe(200);
    if (res.body.job?.state === "done") return res.body.manifest;
    expect(res.body.job?.state).not.toBe("error");
    await Bun.sleep(25);
  }
  throw new Error(`snapshot ${id} was not hashed`);
}

async function stoppedSnapshot(svc: FakeVmmService, instance: string): Promise<string> {
  await svc.createInstance(instance);
  const snap = await svc.call("POST", `/instances/${instance}/snapshots`, { kind: "Stopped", name: "portable" });
  expect(snap.status, JSON.stringify(snap.body)).toBe(201);
  return snap.body.id;
}

async function exported(svc: FakeVmmService, id: string, query = ""): Promise<Uint8Array> {
  const res = await svc.sv.app.request(`/snapshots/${id}/export${query}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

const importInto = async (svc: FakeVmmService, archive: Uint8Array) => {
  const res = await svc.sv.app.request("/snapshots/import", { method: "POST", body: archive });
  return { status: res.status, body: (await res.json()) as any };
};

/** An archive made of `members` in order (what export writes, or what it must never accept). */
function tar(members: [string, Uint8Array][]): Uint8Array {
  return Buffer.concat([...members.flatMap(([p, b]) => [tarHeader(p, b.length, new Date(0)), b, new Uint8Array(tarPaddingBytes(b.length))]), TAR_END]);
}

function withManifest(archive: Uint8Array, edit: (m: any) => unknown): Uint8Array {
  const size = Number.parseInt(new TextDecoder().decode(archive.subarray(124, 135)), 8);
  const manifest = JSON.parse(new TextDecoder().decode(archive.subarray(TAR_BLOCK, TAR_BLOCK + size)));
  const json = new TextEncoder().encode(JSON.stringify(edit(manifest)));
  return Buffer.concat([tarHeader("manifest.json", json.length, new Date(0)), json, new Uint8Array(tarPaddingBytes(json.length)), archive.subarray(tarEntryBytes(size))]);
}

async function expectNothingImported(svc: FakeVmmService, id: string): Promise<void> {
  expect((await svc.call("GET", `/snapshots/${id}`)).status).toBe(404);
  expect(readdirSync(join(svc.dataDir, "snapshots"))).not.toContain(id);
  expect(readdirSync(join(svc.dataDir, "tmp"))).toEqual([]);
}

describe("manifest and verify", () => {
  test("a new snapshot is hashed in the background; verify names each damaged file and chunk", async () => {
    const id = await stoppedSnapshot(a, "hashme");
    const manifest = await hashed(a, id);
    expect(manifest).toMatchObject({ format_version: 1, snapshot: { id, kind: "Stopped" }, hypervisor: { type: "cloud-hypervisor" }, memory: { kind: "none" }, image: { name: "fake" } });
    const disk = manifest.files.find((f: { path: string }) => f.path === "guest/disk.raw");
    expect(disk.chunks.length).toBe(Math.ceil(disk.size / manifest.chunk_bytes));
    expect((await a.call("POST", `/snapshots/${id}/verify`)).body).toMatchObject({ ok: true, files_checked: manifest.files.length, problems: [] });

    const dir = join(a.dataDir, "snapshots", id);
    const bytes = readFileSync(join(dir, "guest/disk.raw"));
    bytes[manifest.chunk_bytes + 7]! ^= 1; // chunk 1
    writeFileSync(join(dir, "guest/disk.raw"), bytes);
    unlinkSync(join(dir, "snapshot.json"));
    writeFileSync(join(dir, "guest/stray"), "x");
    const report = (await a.call("POST", `/snapshots/${id}/verify`)).body;
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { path: "guest/disk.raw", problem: "chunks", message: expect.stringContaining("1 of"), chunks: [1] },
      { path: "snapshot.json", problem: "missing", message: "snapshot.json is missing", chunks: [] },
      { path: "guest/stray", problem: "unexpected", message: "guest/stray is not in the manifest", chunks: [] },
    ]);
    truncateSync(join(dir, "guest/disk.raw"), manifest.chunk_bytes);
    const resized = (await a.call("POST", `/snapshots/${id}/verify`)).body.problems[0];
    expect(resized).toMatchObject({ path: "guest/disk.raw", problem: "size", chunks: [1, ...Array.from({ length: disk.chunks.length - 2 }, (_, i) => i + 2)] });
  });

  test("the compatibility check: compatible here; a newer manifest is refused by restore and fork with 409 and its reason", async () => {
    const id = await stoppedSnapshot(a, "compat");
    const manifest = await hashed(a, id);
    expect((await a.call("GET", `/snapshots/${id}/compatibility`)).body).toEqual({ compatible: true, reasons: [] });
    writeFileSync(join(a.dataDir, "snapshots", id, "manifest.json"), JSON.stringify({ ...manifest, format_version: 99 }));
    const verdict = (await a.call("GET", `/snapshots/${id}/compatibility`)).body;
    expect(verdict).toEqual({ compatible: false, reasons: [{ code: "format_too_new", message: expect.stringContaining("99") }] });
    const fork = await a.call("POST", `/snapshots/${id}/fork`, { name: "compat-fork", target_state: "Running" });
    expect(fork.status).toBe(409);
    expect(fork.body).toMatchObject({ code: "incompatible_snapshot", reasons: [{ code: "format_too_new" }] });
    expect((await a.call("GET", "/instances/compat-fork")).status).toBe(404);
    const restore = await a.call("POST", `/instances/compat/snapshots/${id}/restore`, { target_state: "Running" });
    expect(restore.body).toMatchObject({ code: "incompatible_snapshot", reasons: [{ code: "format_too_new" }] });
  });
});

test("after a restart, a snapshot without a manifest waits in the backlog; verify hashes it at once", async () => {
  const dataDir = mkdtempSync(join(scratch, "restart-"));
  const first = await startService({ dataDir });
  await registerFakeImage(first);
  await first.call("POST", "/instances", { name: "older", image: "fake", size: "128MB", overlay_size: "16MB" });
  const id = (await first.call("POST", "/instances/older/snapshots", { kind: "Stopped" })).body.id;
  await hashed(first, id);
  await first.close();
  rmSync(join(dataDir, "snapshots", id, "manifest.json")); // as a snapshot taken before manifests existed
  const again = await startService({ dataDir });
  try {
    expect((await again.call("GET", `/snapshots/${id}/manifest`)).body).toEqual({ job: expect.objectContaining({ state: "pending" }), manifest: null });
    expect((await again.call("POST", `/snapshots/${id}/verify`)).body).toMatchObject({ ok: true, problems: [] });
    expect((await again.call("GET", `/snapshots/${id}/manifest`)).body.manifest.snapshot.id).toBe(id);
  } finally {
    await again.close();
  }
});

test("background hashing gives way while an operation runs; a verify that waits for it does not", async () => {
  const svc = await startService();
  try {
    await registerFakeImage(svc);
    await svc.call("POST", "/instances", { name: "busy", image: "fake", size: "128MB", overlay_size: "16MB" });
    // An operation holds a lock (a fork under way, as far as hashing can tell).
    const release = Promise.withResolvers<void>();
    const holding = svc.sv.core.locks.run("someone-else", () => release.promise);
    const waits = (await svc.call("POST", "/instances/busy/snapshots", { kind: "Stopped", name: "waits" })).body.id;
    const asked = (await svc.call("POST", "/instances/busy/snapshots", { kind: "Stopped", name: "asked" })).body.id;
    await Bun.sleep(300);
    expect((await svc.call("GET", `/snapshots/${waits}/manifest`)).body).toMatchObject({ job: { bytes_done: 0 }, manifest: null });
    // Someone waits for this one: it is hashed now, the operation still running.
    expect((await svc.call("POST", `/snapshots/${asked}/verify`)).body).toMatchObject({ ok: true, problems: [] });
    expect((await svc.call("GET", `/snapshots/${waits}/manifest`)).body.manifest).toBeNull();
    release.resolve();
    await holding;
    expect((await hashed(svc, waits)).snapshot.id).toBe(waits);
  } finally {
    await svc.close();
  }
});

describe("export and import between two data dirs", () => {
  let id: string;
  let archive: Uint8Array;

  test("an import lands whole: row, verified files, records naming this data dir, holes kept", async () => {
    // A disk that ends inside a chunk, with data at both ends and a hole between.
    const source = await a.createInstance("traveller");
    const disk = join(a.dataDir, "guests", source, "disk.raw");
    truncateSync(disk, 16 * 1024 * 1024 + 12_345);
    const fd = openSync(disk, "r+");
    writeSync(fd, "head");
    writeSync(fd, "tail", 16 * 1024 * 1024 + 12_000);
    closeSync(fd);
    const snap = await a.call("POST", "/instances/traveller/snapshots", { kind: "Stopped", name: "portable" });
    id = snap.body.id;
    await hashed(a, id);
    archive = await exported(a, id);
    const res = await importInto(b, archive);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id, name: "portable", kind: "Stopped", source_instance_name: "traveller" });
    expect((await b.call("POST", `/snapshots/${id}/verify`)).body).toMatchObject({ ok: true });
    const record = JSON.parse(readFileSync(join(b.dataDir, "snapshots", id, "guest/vm.json"), "utf8"));
    expect(record.config.kernel.startsWith(join(b.dataDir, "images", "fake"))).toBe(true);
    expect((await importInto(b, archive)).body.code).toBe("conflict");
    const fork = await b.call("POST", `/snapshots/${id}/fork`, { name: "arrived" });
    expect(fork.status, JSON.stringify(fork.body)).toBe(201);
    expect(readFileSync(join(b.dataDir, "guests", fork.body.id, "disk.raw"))).toEqual(readFileSync(join(a.dataDir, "snapshots", id, "guest/disk.raw")));
    const landed = statSync(join(b.dataDir, "snapshots", id, "guest/disk.raw"));
    expect(landed.size).toBe(16 * 1024 * 1024 + 12_345);
    expect(landed.blocks * 512).toBeLessThan(2 * 4 * 1024 * 1024); // the zero chunks between stayed holes
  });

  test("the zstd archive: tar lists it, large files as one frame per chunk that `zstd -d` joins back", async () => {
    const zipped = await exported(a, id, "?compress=zstd");
    writeFileSync(join(scratch, "z.tar"), zipped);
    const listing = Bun.spawnSync(["tar", "-tf", join(scratch, "z.tar")]).stdout.toString().trim().split("\n");
    expect(listing[0]).toBe("manifest.json");
    expect(listing).toContain("guest/disk.raw.zst/00000000");
    expect(listing).toContain("guest/vm.json");
    mkdirSync(join(scratch, "z"));
    expect(Bun.spawnSync(["tar", "-xf", join(scratch, "z.tar"), "-C", join(scratch, "z")]).exitCode).toBe(0);
    const joined = Bun.spawnSync(["sh", "-c", `cat ${join(scratch, "z/guest/disk.raw.zst")}/* | zstd -d`], { stdout: "pipe" }).stdout;
    expect(Buffer.from(joined).equals(readFileSync(join(a.dataDir, "snapshots", id, "guest/disk.raw")))).toBe(true);
    const c = await startFakeVmmService();
    try {
      expect((await importInto(c, zipped)).status).toBe(201);
      expect((await c.call("POST", `/snapshots/${id}/verify`)).body.ok).toBe(true);
    } finally {
      await c.close();
    }
  });

  test("damaged, truncated or foreign archives are 400 invalid_archive and leave nothing", async () => {
    const c = await startFakeVmmService();
    try {
      // The first file after the manifest is guest/disk.raw (the manifest's order): a byte inside its body.
      const manifestSize = Number.parseInt(new TextDecoder().decode(archive.subarray(124, 135)), 8);
      const flipped = archive.slice();
      flipped[tarEntryBytes(manifestSize) + TAR_BLOCK + 100]! ^= 0x10;
      const flip = await importInto(c, flipped);
      expect(flip.body.message).toContain("guest/disk.raw: chunk 0 does not match its SHA-256");
      await expectNothingImported(c, id);
      const cases = [archive.subarray(0, archive.length - 2000), archive.subarray(0, 1000), new TextEncoder().encode("not a tar at all"), tar([["guest/vm.json", new Uint8Array(3)]])];
      for (const bad of cases) {
        const res = await importInto(c, bad);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe("invalid_archive");
        await expectNothingImported(c, id);
      }
      // An archive whose manifest leaves snapshot.json out (and so does the archive): no record to index it by.
      const manifest = JSON.parse(new TextDecoder().decode(archive.subarray(TAR_BLOCK, TAR_BLOCK + manifestSize)));
      const members: [string, Uint8Array][] = [];
      for (const f of manifest.files.filter((f: { path: string }) => f.path !== "snapshot.json")) {
        members.push([f.path, readFileSync(join(a.dataDir, "snapshots", id, f.path))]);
      }
      const recordless = { ...manifest, files: manifest.files.filter((f: { path: string }) => f.path !== "snapshot.json") };
      const noRecord = await importInto(c, tar([["manifest.json", new TextEncoder().encode(JSON.stringify(recordless))], ...members]));
      expect(noRecord.status).toBe(400);
      expect(noRecord.body).toMatchObject({ code: "invalid_archive", message: expect.stringContaining("snapshot record") });
      await expectNothingImported(c, id);
      const extra = withManifest(archive, (m) => m); // same manifest, then a member it does not list
      const stray = Buffer.concat([extra.subarray(0, extra.length - TAR_END.length), tar([["guest/stray", new Uint8Array(1)]])]);
      expect((await importInto(c, stray)).body.message).toContain("guest/stray is not in the manifest");
      await expectNothingImported(c, id);
    } finally {
      await c.close();
    }
  });

  test("manifests this host cannot satisfy are 409 with typed reasons", async () => {
    const c = await startFakeVmmService();
    try {
      const refusals = [
        [withManifest(archive, (m) => ({ ...m, format_version: m.format_version + 1 })), ["format_too_new"]],
        [withManifest(archive, (m) => ({ ...m, payload_format_version: 99 })), ["format_too_new"]],
        [withManifest(archive, (m) => ({ ...m, hypervisor: { type: "firecracker", version: "1.0" } })), ["hypervisor_missing"]],
        [withManifest(archive, (m) => ({ ...m, image: { ...m.image, name: "elsewhere" } })), ["image_missing"]],
        [withManifest(archive, (m) => ({ ...m, image: { ...m.image, content_hash: "f".repeat(64) } })), ["image_missing"]],
        // Cloud Hypervisor has no versioned machine types: a snapshot from a newer one does not load.
        [withManifest(archive, (m) => ({ ...m, hypervisor: { ...m.hypervisor, version: "999.0" } })), ["hypervisor_too_old"]],
        // Memory captured where the guest could see a CPU feature this host lacks.
        [withManifest(archive, (m) => ({ ...m, memory: { ...m.memory, kind: "migration-stream" }, host_cpu: { model: "Elsewhere CPU", flags: ["sv_test_feature"] } })), ["cpu_feature_missing"]],
      ] as const;
      for (const [bytes, codes] of refusals) {
        const res = await importInto(c, bytes);
        expect(res.status).toBe(409);
        expect(res.body.code).toBe("incompatible_snapshot");
        expect(res.body.reasons.map((r: { code: string }) => r.code)).toEqual([...codes]);
        await expectNothingImported(c, id);
      }
    } finally {
      await c.close();
    }
  });

  test("back on its first host after a delete there, an import whose name a newer snapshot took is 409", async () => {
    expect((await a.call("DELETE", `/snapshots/${id}`)).status).toBe(204);
    expect((await a.call("POST", "/instances/traveller/snapshots", { kind: "Stopped", name: "portable" })).status).toBe(201);
    const home = await importInto(a, archive);
    expect(home.status).toBe(409);
    expect(home.body.message).toContain('snapshot name "portable" already exists');
    await expectNothingImported(a, id);
  });
});
