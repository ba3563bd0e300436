// A data dir whose `default` was registered from an older build: the server started with today's build registers
// it as the next generation, keeps the older one listed, restores a standby on the files it was captured with, and
// cold-boots a stopped instance of the older generation on today's kernel and initrd with its own disk.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readVmConfig } from "../../src/core/instances/vm-config.ts";
import { readLaunchRecord } from "../../src/store/payload/vm-record.ts";
import { ensureGuestImage, startService, type TestService } from "../harness.ts";
import { bootGuest, exec, vmmProcesses } from "./guest.ts";
import { GENERATION_MARKER, writeOlderBuild } from "./older-build.ts";

let root: string;
let svc: TestService | undefined;
beforeAll(async () => {
  await ensureGuestImage();
  root = mkdtempSync(join(tmpdir(), "sv-gens-"));
});
afterAll(async () => {
  await svc?.close();
  expect(vmmProcesses(root)).toEqual([]);
  rmSync(root, { recursive: true, force: true });
});

const whichBuild = `test -e ${GENERATION_MARKER} && cat ${GENERATION_MARKER} || echo current`;

test("an instance of an older default boots the current generation at its next start; a standby restores on its own files", async () => {
  const dataDir = join(root, "data");
  const older = writeOlderBuild(join(root, "older-build"), { [GENERATION_MARKER.slice(1)]: { content: "older\n", mode: 0o644 } });
  svc = await startService({ dataDir, guestImageDir: older });
  const stays = await bootGuest(svc, "stays");
  const moves = await bootGuest(svc, "moves");
  expect((await exec(svc, moves.id, whichBuild)).stdout).toBe("older\n");
  expect((await exec(svc, moves.id, "echo kept >/mnt/kept && sync")).exit_code).toBe(0);
  expect((await svc.call("POST", `/instances/${moves.id}/stop`)).body.state).toBe("Stopped");
  const olderImage = (await svc.call("GET", "/images/default")).body;
  await svc.close(); // `stays` goes into Standby
  svc = undefined;

  svc = await startService({ dataDir }); // today's build
  const images = (await svc.call("GET", "/images")).body as { name: string; initrd: string; kernel: string; cmdline: string }[];
  expect(images.map((i) => i.name)).toEqual(["default", expect.stringMatching(/^default@[0-9a-f]{12}$/)]);
  const [current, previous] = images;
  expect(previous).toMatchObject({ kernel: olderImage.kernel, initrd: olderImage.initrd });
  expect(current!.initrd).not.toBe(olderImage.initrd);

  // A restore resumes the guest on the files it was captured with.
  const restored = await svc.call("POST", `/instances/${stays.id}/restore`);
  expect(restored.status, JSON.stringify(restored.body)).toBe(200);
  expect((await exec(svc, stays.id, whichBuild)).stdout).toBe("older\n");
  expect((await readLaunchRecord(join(dataDir, "guests", stays.id), "qemu")).config).toMatchObject({ initrd: olderImage.initrd });

  // A cold start boots today's kernel and initrd on the instance's own disk, and its record says so.
  const started = await svc.call("POST", `/instances/${moves.id}/start`);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  expect((await exec(svc, moves.id, whichBuild)).stdout).toBe("current\n");
  expect((await exec(svc, moves.id, "cat /mnt/kept")).stdout).toBe("kept\n");
  const guest = join(dataDir, "guests", moves.id);
  expect((await readLaunchRecord(guest, "qemu")).config).toMatchObject({ kernel: current!.kernel, initrd: current!.initrd });
  expect(await readVmConfig(guest)).toMatchObject({ kernel: current!.kernel, initrd: current!.initrd, cmdline: current!.cmdline });
}, 240_000);
