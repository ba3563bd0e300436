// Compression on a full data dir (a small tmpfs, no guest needed: the memory is a synthetic file). A background
// compression job that runs out of space ends `error` and leaves the raw memory, with no partial output; a fork
// that has to decompress a snapshot's memory and cannot is 507, and the snapshot stays as it was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticMemory } from "../../src/store/codecs/synthetic-memory.ts";
import { readInstanceRecord } from "../../src/store/payload/instance-record.ts";
import { writeSavedVm } from "../../src/store/payload/vm-record.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

const MiB = 1024 * 1024;
const MEMORY_BYTES = 64 * MiB;
const dataDir = mkdtempSync(join(tmpdir(), "sv-zfull-"));
const filler = join(dataDir, "filler");
let svc: TestService;
let instanceId: string;

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** Leaves `bytes` free on the tmpfs (a filler file takes the rest). */
function fillLeaving(bytes: number): void {
  rmSync(filler, { force: true });
  const fs = statfsSync(dataDir);
  run(["fallocate", "-l", String(fs.bavail * fs.bsize - bytes), filler]);
}

const standbyFiles = (snapshotId: string) => readdirSync(join(dataDir, "snapshots", snapshotId, "guest", "standby")).sort();
const staged = () => readdirSync(join(dataDir, "tmp"));

/** Polls the snapshot until its compression has ended (bounded: 600 × 50 ms). */
async function compressionEnded(id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const snap = (await svc.call("GET", `/snapshots/${id}`)).body;
    if (snap.compression_state !== "compressing") return snap;
    await Bun.sleep(50);
  }
  throw new Error(`snapshot ${id} still compressing`);
}

beforeAll(async () => {
  run(["mount", "-t", "tmpfs", "-o", "size=200m,mode=0700", "tmpfs", dataDir]);
  svc = await startService({ dataDir });
  await registerFakeImage(svc);
  const created = await svc.call("POST", "/instances", { name: "frozen", image: "fake", size: "128MB", overlay_size: "16MB" });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  instanceId = created.body.id;
  const standby = join(dataDir, "guests", instanceId, "standby");
  mkdirSync(standby);
  await writeSyntheticMemory(join(standby, "memory"), MEMORY_BYTES);
  // A complete payload has its saved-VM record beside the memory (a migration stream of a pc machine under TCG).
  const { config } = await readInstanceRecord(join(dataDir, "guests", instanceId));
  await writeSavedVm(standby, { hypervisor: "qemu", version: "synthetic", config, detail: { machine: "pc", accel: "tcg", argv: [] } }, "memory", new Date());
});

afterAll(async () => {
  await svc?.close();
  // The last codec worker's files may still be closing: a few tries, then a lazy unmount.
  let attempt = 0;
  while (Bun.spawnSync(["umount", dataDir]).exitCode !== 0) {
    if (++attempt === 50) {
      run(["umount", "--lazy", dataDir]);
      break;
    }
    await Bun.sleep(100);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe("compression on a full data dir", () => {
  test("a background job that runs out of space ends `error`; the raw memory stays, no partial output", async () => {
    fillLeaving(1 * MiB); // the memory is hard-linked into the snapshot: only its compressed form needs room
    const res = await svc.call("POST", "/instances/frozen/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd" } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const snap = await compressionEnded(res.body.id);
    expect(snap.compression_state).toBe("error");
    expect(snap.compression_error).toMatch(/ENOSPC|no space|disk is full/i);
    const files = standbyFiles(res.body.id);
    expect(files).toContain("memory");
    expect(files.filter((f) => f.includes(".zst"))).toEqual([]); // no partial or complete compressed form
    // The partial output's blocks are free again (no file handle keeps the deleted file alive).
    expect(statfsSync(dataDir).bavail * statfsSync(dataDir).bsize).toBeGreaterThanOrEqual(MiB / 2);
    expect((await svc.call("GET", "/health")).status).toBe(200);
  });

  test("a fork that must decompress a snapshot's memory and cannot is 507; the snapshot is left compressed", async () => {
    rmSync(filler);
    const res = await svc.call("POST", "/instances/frozen/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd" } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await compressionEnded(res.body.id)).compression_state).toBe("compressed");
    const before = standbyFiles(res.body.id);
    fillLeaving(1 * MiB);
    const instances = (await svc.call("GET", "/instances")).body.length;
    const fork = await svc.call("POST", `/snapshots/${res.body.id}/fork`, { name: "thawed", target_state: "Stopped" });
    expect(fork.status, JSON.stringify(fork.body)).toBe(507);
    expect(fork.body.code).toBe("insufficient_storage");
    expect(standbyFiles(res.body.id)).toEqual(before);
    expect((await svc.call("GET", `/snapshots/${res.body.id}`)).body.compression_state).toBe("compressed");
    expect((await svc.call("GET", "/instances")).body.length).toBe(instances);
    expect(staged()).toEqual([]);
  });
});
