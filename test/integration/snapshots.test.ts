// Snapshots with real guests (reference §10 items 40 and the scenarios): a Standby snapshot of a running
// instance, restore rolling the guest back, fan-out of forks sharing one memory inode, diverging forks.
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { TestService } from "../harness.ts";
import { bootCount, bootGuest, consoleTicks, exec, isContinuous, tick, waitForTicks, withGuestService } from "./guest.ts";

let svc: TestService;
const memoryFile = (id: string, root: "guests" | "snapshots") =>
  root === "guests" ? join(svc.dataDir, "guests", id, "standby", "memory") : join(svc.dataDir, "snapshots", id, "guest", "standby", "memory");

withGuestService((s) => (svc = s));

describe("standby snapshots of a running guest", () => {
  test("the source is Running again afterwards with its counter intact; restore rolls the guest back", async () => {
    const { id } = await bootGuest(svc, "origin");
    await exec(svc, "origin", "echo before > /mnt/state.txt && sync");
    await waitForTicks(svc, "origin", 4);
    const snap = await svc.call("POST", "/instances/origin/snapshots", { kind: "Standby", name: "base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    expect(snap.body).toMatchObject({ kind: "Standby", compression_state: "none", ref_count: 0 });
    const atSnapshot = await tick(svc, "origin");

    expect((await svc.call("GET", "/instances/origin")).body.state).toBe("Running");
    expect(isContinuous(await consoleTicks(svc, "origin"))).toBe(true);
    expect(await bootCount(svc, "origin")).toBe(1);

    // Move on, then roll back.
    await exec(svc, "origin", "echo after > /mnt/state.txt && echo new > /mnt/new.txt && sync");
    await Bun.sleep(3000);
    const later = await tick(svc, "origin");
    expect(later).toBeGreaterThan(atSnapshot + 3);
    expect((await svc.call("POST", `/instances/origin/snapshots/${snap.body.id}/restore`, {})).status).toBe(409); // Running

    await svc.call("POST", "/instances/origin/stop");
    const restored = await svc.call("POST", `/instances/origin/snapshots/${snap.body.id}/restore`, {});
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ id, name: "origin", state: "Running" });
    const back = await tick(svc, "origin");
    expect(back).toBeLessThan(later);
    expect(back).toBeGreaterThanOrEqual(atSnapshot - 1);
    expect((await exec(svc, "origin", "cat /mnt/state.txt")).stdout).toBe("before\n");
    expect((await exec(svc, "origin", "test -e /mnt/new.txt")).exit_code).not.toBe(0);
  });
});

describe("fan-out", () => {
  test("3 forks of one snapshot share the memory inode, each continues from the snapshot point and diverges", async () => {
    await bootGuest(svc, "parent");
    await exec(svc, "parent", "echo parent > /mnt/who.txt && sync");
    await waitForTicks(svc, "parent", 4);
    const beforeSnapshot = (await consoleTicks(svc, "parent")).at(-1)!;
    const { body: snap } = await svc.call("POST", "/instances/parent/snapshots", { kind: "Standby", name: "fan" });
    const afterSnapshot = (await consoleTicks(svc, "parent")).at(-1)!;

    const forks: { id: string }[] = [];
    for (const i of [1, 2, 3]) {
      const res = await svc.call("POST", `/snapshots/${snap.id}/fork`, { name: `child-${i}`, target_state: "Standby" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ state: "Standby", fork_of_snapshot: snap.id });
      forks.push(res.body);
    }
    const original = statSync(memoryFile(snap.id, "snapshots"));
    expect(original.nlink).toBe(4);
    for (const f of forks) expect(statSync(memoryFile(f.id, "guests")).ino).toBe(original.ino);
    expect((await svc.call("GET", `/snapshots/${snap.id}`)).body.ref_count).toBe(3);

    // All three run at the same time, each from the snapshot point, each writing its own disk.
    const restored = await Promise.all(forks.map((f) => svc.call("POST", `/instances/${f.id}/restore`)));
    for (const r of restored) expect(r.body.state).toBe("Running");
    const firstTicks: number[] = [];
    for (const [i, f] of forks.entries()) {
      await exec(svc, f.id, `echo child-${i + 1} > /mnt/who.txt && sync`);
      await waitForTicks(svc, f.id, 2);
      const ticks = await consoleTicks(svc, f.id);
      firstTicks.push(ticks[0]!);
      expect(isContinuous(ticks)).toBe(true);
      expect(await bootCount(svc, f.id)).toBe(0); // never booted: restored from memory
    }
    // Every fork continues from the same instant: the snapshot point, between the two readings of the parent.
    expect(new Set(firstTicks).size).toBe(1);
    expect(firstTicks[0]).toBeGreaterThan(beforeSnapshot);
    expect(firstTicks[0]).toBeLessThanOrEqual(afterSnapshot + 1);
    for (const [i, f] of forks.entries()) expect((await exec(svc, f.id, "cat /mnt/who.txt")).stdout).toBe(`child-${i + 1}\n`);
    expect((await exec(svc, "parent", "cat /mnt/who.txt")).stdout).toBe("parent\n");
    // The snapshot's memory file was never written.
    expect(statSync(memoryFile(snap.id, "snapshots")).mtimeMs).toBe(original.mtimeMs);

    const blocked = await svc.call("DELETE", `/snapshots/${snap.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.message).toBe(`cannot delete snapshot ${snap.id} with 3 fork(s)`);
    for (const f of forks) expect((await svc.call("DELETE", `/instances/${f.id}`)).status).toBe(204);
    expect((await svc.call("DELETE", `/snapshots/${snap.id}`)).status).toBe(204);
  });

  test("fork of a running instance leaves the source running; fork of a Standby snapshot after the source is gone", async () => {
    const { id } = await bootGuest(svc, "live");
    await waitForTicks(svc, "live", 3);
    const res = await svc.call("POST", "/instances/live/fork", { name: "live-copy", from_running: true });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe("Running");
    expect((await svc.call("GET", "/instances/live")).body.state).toBe("Running");
    expect(isContinuous(await consoleTicks(svc, "live"))).toBe(true);
    expect((await exec(svc, "live-copy", "echo forked")).stdout).toBe("forked\n");
    const refused = await svc.call("POST", "/instances/live/fork", { name: "nope" });
    expect(refused.status).toBe(409);

    // Reference §10 item 40: snapshot, delete source, fork the snapshot to Standby.
    const snap = (await svc.call("POST", "/instances/live/snapshots", { kind: "Standby" })).body;
    expect((await svc.call("DELETE", `/instances/${id}`)).status).toBe(204);
    expect((await svc.call("GET", `/snapshots?source_instance_id=${id}`)).body).toHaveLength(1);
    const orphanFork = await svc.call("POST", `/snapshots/${snap.id}/fork`, { name: "orphan", target_state: "Standby" });
    expect(orphanFork.body.state).toBe("Standby");
  });
});
