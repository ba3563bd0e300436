import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashFile } from "./chunk-hash.ts";
import { buildManifest, canonicalJson, MANIFEST_FORMAT_VERSION, ManifestError, parseManifest, payloadFiles } from "./manifest.ts";
import { writeSnapshotRecord } from "./snapshot-record.ts";

const V1_QEMU = join(import.meta.dir, "../../../test/fixtures/payload-v1/qemu");
const scratch = mkdtempSync(join(tmpdir(), "sv-manifest-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const facts = { hostCpu: { model: "Test CPU", flags: ["avx2", "sse4_2"] }, imageContentHash: "a".repeat(64), createdAt: new Date("2026-03-04T05:06:07.000Z") };

async function snapshotDir(name: string, kind: "Standby" | "Stopped"): Promise<string> {
  const dir = join(scratch, name);
  cpSync(V1_QEMU, join(dir, "guest"), { recursive: true });
  const at = new Date("2026-03-04T00:00:00.000Z");
  const record = { id: name, name: null, kind, tags: {}, sourceInstanceId: "src", sourceInstanceName: "web", sourceHypervisor: "qemu", sourceHypervisorVersion: "7.2.22", createdAt: at };
  await writeSnapshotRecord(dir, record);
  return dir;
}

test("a standby snapshot's manifest: records' facts and a hash per file and chunk of every payload file", async () => {
  const dir = await snapshotDir("standby", "Standby");
  writeFileSync(join(dir, "guest/standby/memory.zst.tmp"), "in flight"); // never payload
  const progress: [number, number][] = [];
  const m = await buildManifest(dir, facts, { onProgress: (d, t) => progress.push([d, t]) });
  expect(m).toMatchObject({
    format_version: MANIFEST_FORMAT_VERSION,
    snapshot: { id: "standby", kind: "Standby" },
    hypervisor: { type: "qemu", version: "7.2.22" },
    machine: { type: "pc-q35-7.2" },
    memory: { bytes: 268435456, kind: "migration-stream", file: null },
    host_cpu: facts.hostCpu,
    accel: "tcg",
    image: { name: "default", content_hash: "a".repeat(64) },
  });
  expect(m.files.map((f) => f.path)).toEqual(["guest/disk.raw", "guest/qemu-vm.json", "guest/standby/memory", "guest/standby/vm.json", "guest/vm.json", "snapshot.json"]);
  for (const f of m.files) expect(f).toEqual({ path: f.path, ...(await hashFile(join(dir, f.path))) });
  const total = m.files.reduce((s, f) => s + f.size, 0);
  expect(progress.at(-1)).toEqual([total, total]);
  expect(parseManifest(JSON.parse(JSON.stringify(m)))).toEqual({ kind: "current", manifest: m });
});

test("a stopped snapshot has no memory, accel or host CPU requirement; the same hardware hashes the same", async () => {
  const standby = await buildManifest(await snapshotDir("s1", "Standby"), facts);
  const stopped = await buildManifest(await snapshotDir("s2", "Stopped"), facts);
  expect(stopped).toMatchObject({ memory: { kind: "none", file: null }, accel: null, host_cpu: { model: "", flags: [] }, machine: { type: null } });
  const again = await buildManifest(await snapshotDir("s3", "Standby"), facts);
  expect(again.machine.config_hash).toBe(standby.machine.config_hash);
  expect(stopped.machine.config_hash).not.toBe(standby.machine.config_hash); // no machine type
});

test("a newer manifest is reported by its number; malformed ones name the field", () => {
  expect(parseManifest({ format_version: MANIFEST_FORMAT_VERSION + 1, anything: true })).toEqual({ kind: "newer", formatVersion: MANIFEST_FORMAT_VERSION + 1 });
  expect(() => parseManifest({ format_version: 1 })).toThrow(ManifestError);
  const base = { format_version: 1, payload_format_version: 2, created_at: "2026-01-01T00:00:00.000Z", snapshot: { id: "a", kind: "Standby" }, hypervisor: { type: "qemu", version: "7.2" }, machine: { type: null, config_hash: "b".repeat(64) }, memory: { bytes: 0, kind: "none", file: null }, host_cpu: { model: "", flags: [] }, accel: null, image: { name: "default", content_hash: "c".repeat(64) }, chunk_bytes: 4 };
  const file = (path: string, size: number, chunks: number) => ({ path, size, sha256: "d".repeat(64), chunks: Array(chunks).fill("e".repeat(64)) });
  expect(parseManifest({ ...base, files: [file("guest/disk.raw", 9, 3)] }).kind).toBe("current");
  expect(() => parseManifest({ ...base, files: [file("../escape", 0, 0)] })).toThrow("files.0.path");
  expect(() => parseManifest({ ...base, files: [file("/abs", 0, 0)] })).toThrow("files.0.path");
  expect(() => parseManifest({ ...base, files: [file("guest/disk.raw", 9, 2)] })).toThrow("files.0.chunks");
  expect(() => parseManifest({ ...base, files: [file("a", 0, 0), file("a", 0, 0)] })).toThrow("duplicate");
});

test("canonical JSON sorts keys at every level and drops undefined", () => {
  expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: null }] })).toBe('{"a":[{"b":null,"d":2}],"b":1}');
});

test("payload files skip the manifest itself", async () => {
  const dir = await snapshotDir("listing", "Stopped");
  writeFileSync(join(dir, "manifest.json"), "{}");
  expect((await payloadFiles(dir)).map((f) => f.path)).not.toContain("manifest.json");
});
