// A real guest moves between two snapvisors through object storage (s3rver on 127.0.0.1 stands in for S3; a
// second data dir on this machine stands in for a second host): its Standby snapshot is pushed by one, the first
// is then shut down and its data dir removed, the snapshot pulled by the other and forked there, and the fork's
// counter continues from the snapshot point (it was never booted).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { ensureGuestImage, startService, type TestService } from "../harness.ts";
import { startLocalS3, type LocalS3 } from "../s3-server.ts";
import { bootCount, bootGuest, consoleTicks, isContinuous, tick, vmmProcesses, waitForTicks } from "./guest.ts";

let s3: LocalS3;
let b: TestService;

beforeAll(async () => {
  await ensureGuestImage();
  s3 = await startLocalS3();
});
afterAll(async () => {
  if (b) {
    await b.close();
    expect(vmmProcesses(b.dataDir)).toEqual([]);
  }
  await s3?.stop();
});

async function settled(svc: TestService, started: { status: number; body: any }): Promise<any> {
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  await svc.sv.core.transfers.settled(started.body.id);
  return (await svc.call("GET", `/transfers/${started.body.id}`)).body;
}

test("push from one host, pull on another, fork there: the guest continues from the snapshot point", async () => {
  const remotes = { fleet: s3.remote("golden") };
  const a = await startService({ remotes });
  let snapshotId: string;
  let beforeSnapshot: number;
  let afterSnapshot: number;
  try {
    await bootGuest(a, "golden");
    await waitForTicks(a, "golden", 4);
    beforeSnapshot = (await consoleTicks(a, "golden")).at(-1)!;
    const snap = await a.call("POST", "/instances/golden/snapshots", { kind: "Standby", name: "golden-1" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    afterSnapshot = (await consoleTicks(a, "golden")).at(-1)!;
    snapshotId = snap.body.id;
    const pushed = await settled(a, await a.call("POST", `/snapshots/${snapshotId}/push?remote=fleet`));
    expect(pushed).toMatchObject({ state: "done", error: null });
    expect(pushed.chunks_done).toBe(pushed.chunks_total);
  } finally {
    await a.close();
    rmSync(a.dataDir, { recursive: true, force: true }); // nothing of the first host is left to lean on
  }

  b = await startService({ remotes });
  const pulled = await settled(b, await b.call("POST", "/snapshots/pull", { remote: "fleet", snapshot_id: snapshotId }));
  expect(pulled).toMatchObject({ state: "done", error: null });
  expect(pulled.bytes_transferred).toBeGreaterThan(0);
  expect((await b.call("GET", `/snapshots/${snapshotId}`)).body).toMatchObject({ id: snapshotId, name: "golden-1", kind: "Standby" });

  const fork = await b.call("POST", `/snapshots/${snapshotId}/fork`, { name: "moved", target_state: "Running" });
  expect(fork.status, JSON.stringify(fork.body)).toBe(201);
  expect(fork.body.state).toBe("Running");
  await waitForTicks(b, "moved", 2);
  const ticks = await consoleTicks(b, "moved");
  expect(isContinuous(ticks)).toBe(true);
  expect(ticks[0]).toBeGreaterThan(beforeSnapshot);
  expect(ticks[0]).toBeLessThanOrEqual(afterSnapshot + 1);
  expect(await bootCount(b, "moved")).toBe(0); // restored from the pulled memory, never booted
  expect(await tick(b, "moved")).toBeGreaterThan(beforeSnapshot);
});
