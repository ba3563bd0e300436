// A full data dir with a real guest: the data dir is a small tmpfs, filled until a guest's memory no longer fits.
// Snapshot, standby and fork are then 507 insufficient_storage naming the data dir and the bytes, leave nothing
// half-written (no staging, no payload, no standby dir) and the source keeps running: its agent still answers.
// Checked twice: by the up-front check, and by the disk really running out under QEMU's migration writer (the
// free-space probe is told to over-report, through the composition root, so the up-front check lets it through).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linuxHostResources, type HostResources } from "../../src/core/service/host-resources.ts";
import { ensureGuestImage, startService, type TestService } from "../harness.ts";
import { bootGuest, exec, GUEST_SIZE, vmmProcesses } from "./guest.ts";

const MiB = 1024 * 1024;
/** Room for the running guest's RAM file (reserved whole: 256 MiB) and then a snapshot of it. */
const TMPFS_SIZE = "600m";
/** What is left free once the disk is filled: far less than the guest's 256 MiB memory image. */
const LEFT_FREE = 8 * MiB;

const dataDir = mkdtempSync(join(tmpdir(), "sv-full-"));
const filler = join(dataDir, "filler");
/** Added to what the real probe reports, to let an operation past the up-front check onto the full disk. */
let overReport = 0;
const hostResources: HostResources = {
  ...linuxHostResources,
  freeBytes: async (dir) => (await linuxHostResources.freeBytes(dir)) + overReport,
};

let svc: TestService;
let id: string;

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** The last VMM's files may still be closing when the service has stopped: a few tries, then a lazy unmount. */
async function unmount(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (Bun.spawnSync(["umount", dataDir]).exitCode === 0) return;
    await Bun.sleep(100);
  }
  run(["umount", "--lazy", dataDir]);
}

function freeBytes(): number {
  const fs = statfsSync(dataDir);
  return fs.bavail * fs.bsize;
}

beforeAll(async () => {
  await ensureGuestImage();
  run(["mount", "-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", dataDir]);
  svc = await startService({ dataDir, hostResources });
  id = (await bootGuest(svc, "full")).id;
  run(["fallocate", "-l", String(freeBytes() - LEFT_FREE), filler]);
  expect(freeBytes()).toBeLessThanOrEqual(LEFT_FREE);
});

afterAll(async () => {
  await svc?.close();
  expect(vmmProcesses(dataDir)).toEqual([]);
  await unmount();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Nothing half-written anywhere, and the source is Running with an agent that answers. */
async function expectUntouched(): Promise<void> {
  expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
  expect(readdirSync(join(dataDir, "snapshots"))).toEqual([]);
  expect(readdirSync(join(dataDir, "guests"))).toEqual([id]);
  expect(existsSync(join(dataDir, "guests", id, "standby"))).toBe(false);
  expect((await svc.call("GET", `/instances/${id}`)).body.state).toBe("Running");
  expect((await exec(svc, id, "echo still-here")).stdout.trim()).toBe("still-here");
}

function expectNoRoom(res: { status: number; body: any }, what: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(507);
  expect(res.body.code).toBe("insufficient_storage");
  expect(res.body.message).toMatch(what);
  expect(res.body.message).toMatch(/needs \d+ bytes .* in the data dir <data>/);
}

describe("a full data dir", () => {
  test("snapshot, standby and fork of a running guest are refused up front with 507", async () => {
    // (Refused before the guest is paused: the message is the check's, not "ran out of space".)
    expectNoRoom(await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby" }), /^snapshot of full needs/);
    await expectUntouched();
    expectNoRoom(await svc.call("POST", `/instances/${id}/standby`), /^standby of full needs 268435456 bytes/);
    await expectUntouched();
    // A guest on a RAM file is paused only for a copy of it: the check is the copy's.
    expectNoRoom(await svc.call("POST", `/instances/${id}/fork`, { name: "full-fork", from_running: true }), /^memory copy of full needs/);
    await expectUntouched();
  });

  test("a snapshot that really hits ENOSPC while the RAM file is copied is 507 too, and the guest runs on", async () => {
    overReport = 1024 * MiB;
    try {
      const res = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby" });
      expectNoRoom(res, /^snapshot of full ran out of space: needs \d+ bytes/);
    } finally {
      overReport = 0;
    }
    await expectUntouched();
  });

  test("a start whose RAM file cannot be reserved is 507 before QEMU starts, leaving no RAM file", async () => {
    const qemus = vmmProcesses(dataDir).length;
    overReport = 1024 * MiB;
    let created;
    try {
      // (A sparse overlay: it fits in what is left.)
      created = await svc.call("POST", "/instances", { name: "no-room", size: GUEST_SIZE, overlay_size: "128MB" });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expectNoRoom(await svc.call("POST", `/instances/${created.body.id}/start`), /^booting no-room ran out of space: needs 268435456 bytes/);
    } finally {
      overReport = 0;
    }
    expect(existsSync(join(dataDir, "guests", created.body.id, "ram"))).toBe(false);
    expect(vmmProcesses(dataDir)).toHaveLength(qemus);
    expect((await svc.call("GET", `/instances/${created.body.id}`)).body.state).toBe("Stopped");
    expect((await svc.call("DELETE", `/instances/${created.body.id}`)).status).toBeLessThan(300);
  });

  test("with room again the same snapshot succeeds", async () => {
    rmSync(filler);
    const res = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await exec(svc, id, "echo after")).stdout.trim()).toBe("after");
  });
});
