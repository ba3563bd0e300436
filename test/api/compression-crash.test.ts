// A server killed with SIGKILL in the middle of a compression job: after a restart the job runs again from the
// raw file, the partial output is gone, and the record ends `compressed` with a file `zstd -d` decodes.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, startService } from "../harness.ts";

const work = mkdtempSync(join(tmpdir(), "sv-zcrash-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test("SIGKILL during compression: the restarted service finishes the job and the files agree", async () => {
  const dataDir = join(work, "data");
  const sources = join(dataDir, "image-sources"); // image sources must lie under an image root
  mkdirSync(sources, { recursive: true });
  writeFileSync(join(sources, "kernel"), "not a kernel");
  writeFileSync(join(sources, "rootfs"), "");
  truncateSync(join(sources, "rootfs"), 8 << 20);
  const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/compress-and-wait.ts"), dataDir, join(sources, "kernel"), join(sources, "rootfs")], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const snapshotId = new TextDecoder().decode((await child.stdout.getReader().read()).value).trim();
  const payload = join(dataDir, "snapshots", snapshotId, "guest", "standby");
  expect(readdirSync(payload).sort()).toEqual(["memory", "memory.zst.tmp"]);
  child.kill("SIGKILL");
  await child.exited;

  const svc = await startService({ dataDir });
  try {
    expect((await svc.call("GET", `/snapshots/${snapshotId}`)).body.compression_state).toBe("compressing");
    let snap;
    for (let i = 0; ; i++) {
      snap = (await svc.call("GET", `/snapshots/${snapshotId}`)).body;
      if (snap.compression_state !== "compressing") break;
      if (i > 1200) throw new Error("compression did not finish after the restart");
      await Bun.sleep(100);
    }
    expect(snap).toMatchObject({ compression_state: "compressed", uncompressed_size_bytes: 64 << 20 });
    expect(readdirSync(payload)).toEqual(["memory.zst"]);
    const decoded = Bun.spawnSync(["sh", "-c", `zstd -d -c '${join(payload, "memory.zst")}' | wc -c`]);
    expect(Number(decoded.stdout.toString().trim())).toBe(64 << 20);
  } finally {
    await svc.sv.stop();
  }
});
