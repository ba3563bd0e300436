// A server killed with SIGKILL leaves its guests running (QEMU runs in its own session); the next server on the
// same data dir adopts them: the instance is still Running, the same guest answers, and it can be stopped.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage, GUEST_DIR, REPO, startService } from "../harness.ts";
import { bootCount, consoleTicks, exec, isContinuous, vmmProcesses } from "./guest.ts";

test("after a SIGKILL of the server, the next one adopts the running guest", async () => {
  await ensureGuestImage();
  const dataDir = mkdtempSync(join(tmpdir(), "sv-adopt-"));
  try {
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/boot-and-wait.ts"), dataDir, GUEST_DIR], { stdout: "pipe", stderr: "inherit" });
    const line = new TextDecoder().decode((await child.stdout.getReader().read()).value);
    expect(line).toContain("running");
    child.kill("SIGKILL");
    await child.exited;
    expect(vmmProcesses(dataDir).length).toBe(1); // the guest outlived its server

    const svc = await startService({ dataDir });
    try {
      const inst = (await svc.call("GET", "/instances/survivor")).body;
      expect(inst.state).toBe("Running");
      expect((await exec(svc, "survivor", "echo still here")).stdout).toBe("still here\n");
      expect(await bootCount(svc, "survivor")).toBe(1);
      expect(isContinuous(await consoleTicks(svc, "survivor"))).toBe(true);
      expect((await svc.call("POST", "/instances/survivor/stop")).body.state).toBe("Stopped");
      expect(vmmProcesses(dataDir)).toEqual([]);
    } finally {
      await svc.sv.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
