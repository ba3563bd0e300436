// Instance lifecycle with real QEMU guests (TCG here): boot, exec, standby/restore continuing the same VM,
// stop/start booting fresh, delete in every state, concurrent operations on one instance.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestService } from "../harness.ts";
import { bootCount, bootGuest, consoleTicks, exec, isContinuous, tick, vmmProcesses, waitForTicks, withGuestService } from "./guest.ts";

let svc: TestService;

withGuestService((s) => (svc = s));

describe("lifecycle", () => {
  test("create → start → exec; standby ends the VMM; restore continues the same guest", async () => {
    const { id } = await bootGuest(svc, "life");
    const hello = await exec(svc, "life", ["echo", "hello"]);
    expect(hello).toEqual({ exit_code: 0, stdout: "hello\n", stderr: "", stdout_truncated: false, stderr_truncated: false });
    const failing = await exec(svc, "life", "echo oops >&2; exit 3");
    expect(failing).toMatchObject({ exit_code: 3, stdout: "", stderr: "oops\n" });
    await waitForTicks(svc, "life", 4);

    const standby = await svc.call("POST", "/instances/life/standby");
    expect(standby.status).toBe(200);
    expect(standby.body).toMatchObject({ state: "Standby", has_snapshot: true });
    expect(vmmProcesses(join(svc.dataDir, "guests", id))).toEqual([]);
    const before = await consoleTicks(svc, "life");

    const restored = await svc.call("POST", "/instances/life/restore");
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ state: "Running", has_snapshot: false });
    expect(existsSync(join(svc.dataDir, "guests", id, "standby"))).toBe(false);
    // The counter lives in guest RAM: it continues from the standby point, not from 1.
    expect(await tick(svc, "life")).toBeGreaterThanOrEqual(before.at(-1)!);
    await waitForTicks(svc, "life", before.length + 3);
    const after = await consoleTicks(svc, "life");
    expect(isContinuous(after)).toBe(true);
    expect(await bootCount(svc, "life")).toBe(1);
    expect((await exec(svc, "life", "cat /mnt/hello.txt")).exit_code).toBe(0);

    // Idempotent: restore of a Running instance returns it; standby twice without options is a no-op.
    expect((await svc.call("POST", "/instances/life/restore")).body.state).toBe("Running");
    const metrics = (await svc.call("GET", "/metrics")).body as string;
    for (const op of ["start", "standby", "restore"]) {
      expect(metrics).toContain(`snapvisor_lifecycle_duration_seconds_count{operation="${op}",hypervisor="qemu",result="success"}`);
    }
  });

  test("stop then start boots a fresh guest", async () => {
    await bootGuest(svc, "fresh");
    await exec(svc, "fresh", "echo data > /mnt/kept.txt && sync");
    const stopped = await svc.call("POST", "/instances/fresh/stop");
    expect(stopped.body.state).toBe("Stopped");
    const started = await svc.call("POST", "/instances/fresh/start");
    expect(started.body.state).toBe("Running");
    expect(await bootCount(svc, "fresh")).toBe(2);
    expect(await tick(svc, "fresh")).toBeLessThan(20);
    expect((await exec(svc, "fresh", "cat /mnt/kept.txt")).stdout).toBe("data\n"); // the disk persists
  });

  test("delete in every state leaves no process and no files", async () => {
    const running = await bootGuest(svc, "del-running");
    const standby = await bootGuest(svc, "del-standby");
    await svc.call("POST", "/instances/del-standby/standby");
    const created = (await svc.call("POST", "/instances", { name: "del-stopped", size: "256MB", overlay_size: "128MB" })).body;
    for (const { id } of [running, standby, created]) {
      expect((await svc.call("DELETE", `/instances/${id}`)).status).toBe(204);
      expect(existsSync(join(svc.dataDir, "guests", id))).toBe(false);
      expect(vmmProcesses(join(svc.dataDir, "guests", id))).toEqual([]);
      expect((await svc.call("GET", `/instances/${id}`)).status).toBe(404);
    }
  });

  test("concurrent standby, restore and exec on one instance serialize and never corrupt it", async () => {
    await bootGuest(svc, "race");
    const calls = await Promise.all([
      svc.call("POST", "/instances/race/standby"),
      svc.call("POST", "/instances/race/exec", { command: "echo a" }),
      svc.call("POST", "/instances/race/restore"),
      svc.call("POST", "/instances/race/standby"),
      svc.call("POST", "/instances/race/exec", { command: "echo b" }),
      svc.call("POST", "/instances/race/restore"),
    ]);
    for (const c of calls) expect([200, 409]).toContain(c.status);
    const state = (await svc.call("GET", "/instances/race")).body.state;
    expect(["Running", "Standby"]).toContain(state);
    if (state === "Standby") expect((await svc.call("POST", "/instances/race/restore")).status).toBe(200);
    expect((await exec(svc, "race", "echo ok")).stdout).toBe("ok\n");
    expect(isContinuous(await consoleTicks(svc, "race"))).toBe(true);
    expect(await bootCount(svc, "race")).toBe(1);
  });

  test("restore of a Stopped instance is 409 and changes nothing", async () => {
    await svc.call("POST", "/instances", { name: "never", size: "256MB", overlay_size: "128MB" });
    const res = await svc.call("POST", "/instances/never/restore");
    expect(res.status).toBe(409);
    expect((await svc.call("GET", "/instances/never")).body.state).toBe("Stopped");
  });
});
