// Compression of standby and snapshot memory with real guests (reference §10 items 6, 8–10, 30, 31, 36):
// restore before and after compression completes, CLI-decodable output, pre-emption, fork of a compressed
// snapshot, and a server killed in the middle of a job.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startService, type TestService } from "../harness.ts";
import { bootGuest, consoleTicks, exec, isContinuous, tick, waitForTicks, withGuestService } from "./guest.ts";

let svc: TestService;
const standbyFiles = (id: string) => readdirSync(join(svc.dataDir, "guests", id, "standby")).sort();

withGuestService((s) => (svc = s));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** `zstd -d` / `lz4 -d` of a file, to check the output is a standard frame. */
function cliDecodedSize(file: string, algorithm: "zstd" | "lz4"): number {
  const out = Bun.spawnSync(["sh", "-c", `${algorithm} -d -c '${file}' | wc -c`]);
  expect(out.exitCode).toBe(0);
  return Number(out.stdout.toString().trim());
}

describe("standby compression (item 36)", () => {
  test("restore while zstd-3 is still in flight keeps the raw memory and continues the guest", async () => {
    const { id } = await bootGuest(svc, "inflight");
    await waitForTicks(svc, "inflight", 3);
    const standby = await svc.call("POST", "/instances/inflight/standby", { compression: { enabled: true, algorithm: "zstd", level: 3 } });
    expect(standby.body.state).toBe("Standby");
    const restored = await svc.call("POST", "/instances/inflight/restore");
    expect(restored.body.state).toBe("Running");
    expect(existsSync(join(svc.dataDir, "guests", id, "standby"))).toBe(false);
    await waitForTicks(svc, "inflight", (await consoleTicks(svc, "inflight")).length + 2);
    expect(isContinuous(await consoleTicks(svc, "inflight"))).toBe(true);
  });

  for (const [algorithm, level, ext] of [["zstd", 1, "zst"], ["lz4", 0, "lz4"]] as const) {
    test(`${algorithm}-${level}: after completion only memory.${ext} is on disk, it decodes with the CLI, restore continues`, async () => {
      const name = `done-${algorithm}`;
      const { id } = await bootGuest(svc, name);
      await waitForTicks(svc, name, 3);
      const before = await tick(svc, name);
      await svc.call("POST", `/instances/${name}/standby`, { compression: { enabled: true, algorithm, level } });
      await until(`memory.${ext}`, () => (standbyFiles(id).includes(`memory.${ext}`) && !standbyFiles(id).includes("memory") ? true : undefined));
      expect(standbyFiles(id).filter((f) => f.startsWith("memory"))).toEqual([`memory.${ext}`]);
      const file = join(svc.dataDir, "guests", id, "standby", `memory.${ext}`);
      expect(cliDecodedSize(file, algorithm)).toBeGreaterThan(statSync(file).size);
      const restored = await svc.call("POST", `/instances/${name}/restore`);
      expect(restored.body.state).toBe("Running");
      expect(await tick(svc, name)).toBeGreaterThanOrEqual(before);
      expect(isContinuous(await consoleTicks(svc, name))).toBe(true);
    });
  }

  test("a delayed job cancelled by restore is skipped and the raw memory stays (items 31, 32)", async () => {
    const { id } = await bootGuest(svc, "delayed");
    await svc.call("POST", "/instances/delayed/standby", { compression: { enabled: true }, compression_delay: "1h" });
    expect(standbyFiles(id)).toContain("memory");
    expect(svc.sv.core.compression.state({ kind: "instance", id })).toBe("pending");
    expect((await svc.call("POST", "/instances/delayed/restore")).body.state).toBe("Running");
    expect(svc.sv.core.compression.state({ kind: "instance", id })).toBe("skipped");
  });
});

describe("snapshot compression", () => {
  test("a compressed snapshot reports sizes, decodes with the CLI, and its first fork decompresses it once (items 9, 10)", async () => {
    await bootGuest(svc, "snapsrc");
    await waitForTicks(svc, "snapsrc", 3);
    const created = await svc.call("POST", "/instances/snapsrc/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd", level: 1 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ compression_state: "compressing", compression: { enabled: true, algorithm: "zstd", level: 1 } });
    const done = await until("compressed", async () => {
      const s = (await svc.call("GET", `/snapshots/${created.body.id}`)).body;
      return s.compression_state === "compressed" ? s : undefined;
    });
    const dir = join(svc.dataDir, "snapshots", done.id, "guest", "standby");
    expect(readdirSync(dir).filter((f) => f.startsWith("memory"))).toEqual(["memory.zst"]);
    expect(done.compressed_size_bytes).toBe(statSync(join(dir, "memory.zst")).size);
    expect(cliDecodedSize(join(dir, "memory.zst"), "zstd")).toBe(done.uncompressed_size_bytes);
    expect(done.size_bytes).toBeLessThan(created.body.size_bytes);

    const fork = await svc.call("POST", `/snapshots/${done.id}/fork`, { name: "from-compressed" });
    expect(fork.status).toBe(201);
    expect(fork.body.state).toBe("Running");
    expect((await exec(svc, "from-compressed", "echo up")).stdout).toBe("up\n");
    const after = (await svc.call("GET", `/snapshots/${done.id}`)).body;
    expect(after).toMatchObject({ compression_state: "none", compression: null, compressed_size_bytes: null, ref_count: 1 });
    expect(readdirSync(dir).filter((f) => f.startsWith("memory"))).toEqual(["memory"]);
    const metrics = (await svc.call("GET", "/metrics")).body as string;
    expect(metrics).toContain('snapvisor_snapshot_compression_jobs_total{hypervisor="qemu",algorithm="zstd",source="snapshot",result="success"}');
    expect(metrics).toContain('snapvisor_snapshot_restore_memory_prepare_total{hypervisor="qemu",path="decompress",result="success"}');
  });

  test("a snapshot of a Standby source whose memory is compressed stores raw memory (item 9)", async () => {
    const { id } = await bootGuest(svc, "zsource");
    await svc.call("POST", "/instances/zsource/standby", { compression: { enabled: true, algorithm: "lz4" } });
    await until("memory.lz4", () => (standbyFiles(id).includes("memory.lz4") && !standbyFiles(id).includes("memory") ? true : undefined));
    const snap = (await svc.call("POST", "/instances/zsource/snapshots", { kind: "Standby" })).body;
    const dir = join(svc.dataDir, "snapshots", snap.id, "guest", "standby");
    expect(readdirSync(dir).filter((f) => f.startsWith("memory"))).toEqual(["memory"]);
    expect((await svc.call("GET", "/instances/zsource")).body.state).toBe("Standby");
  });

  test("deleting a snapshot while it compresses cancels the job and removes everything (item 30)", async () => {
    await bootGuest(svc, "delsrc");
    const snap = (await svc.call("POST", "/instances/delsrc/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd", level: 19 } })).body;
    expect((await svc.call("DELETE", `/snapshots/${snap.id}`)).status).toBe(204);
    expect(existsSync(join(svc.dataDir, "snapshots", snap.id))).toBe(false);
    expect(["canceled", "compressed", "skipped"]).toContain(svc.sv.core.compression.state({ kind: "snapshot", id: snap.id })!);
  });
});

test("a server stopped mid-job resumes the job at the next start; record and files agree", async () => {
  const own = await startService();
  try {
    await bootGuest(own, "resume");
    const snap = (await own.call("POST", "/instances/resume/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd", level: 19 } })).body;
    await own.sv.stop(); // the job is cancelled with its raw file kept and stays queued
    const dir = join(own.dataDir, "snapshots", snap.id, "guest", "standby");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const again = await startService({ dataDir: own.dataDir });
    try {
      const done = await until("compressed after restart", async () => {
        const s = (await again.call("GET", `/snapshots/${snap.id}`)).body;
        return s.compression_state === "compressed" ? s : undefined;
      }, 120_000);
      expect(readdirSync(dir).filter((f) => f.startsWith("memory"))).toEqual(["memory.zst"]);
      expect(cliDecodedSize(join(dir, "memory.zst"), "zstd")).toBe(done.uncompressed_size_bytes);
      // The instance went to Standby at stop; it comes back.
      expect((await again.call("POST", "/instances/resume/restore")).body.state).toBe("Running");
    } finally {
      await again.sv.stop();
    }
  } finally {
    await own.close();
  }
});
