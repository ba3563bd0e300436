// A standby payload of the first release (e989562: guest agent on a second ISA UART, no virtio-serial bus, no
// vmgenid, no NIC) restores with today's server: the same guest continues, what needs its agent is refused with a
// 409 saying how to get a current one, and a stop and start boots today's devices with a working agent.
//
// The payload is made here rather than by e989562's code: today's QEMU driver boots the instance's files from a
// config as that release recorded it (no agentChannel, no generation id), which gives that release's command line
// exactly (src/hv/qemu/argv.test.ts), and writes the standby payload as the server does. The guest image is
// today's: its init finds no virtio agent port and starts no agent, so nothing of the host may depend on one.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readVmConfig } from "../../src/core/instances/vm-config.ts";
import { QemuDriver } from "../../src/hv/qemu/driver.ts";
import { readLaunchRecord, writeSavedVm } from "../../src/store/payload/vm-record.ts";
import { bootCount, consoleTicks, exec, GUEST_SIZE, isContinuous, waitForTicks, withGuestService } from "./guest.ts";
import { startService, type TestService } from "../harness.ts";
import { GENERATION_MARKER, writeOlderBuild } from "./older-build.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

/** The instance record as the first release wrote it: the hardware without the fields added since. */
function asFirstRelease(guestDir: string): void {
  const path = join(guestDir, "vm.json");
  const record = JSON.parse(readFileSync(path, "utf8"));
  const { agentChannel: _a, generationId: _g, ...config } = record.config;
  writeFileSync(path, `${JSON.stringify({ ...record, config }, null, 2)}\n`);
}

/** Boots the guest dir with its recorded (first-release) devices and leaves it in Standby, as that release's standby did. */
async function writeLegacyStandby(svc: TestService, id: string, guestDir: string): Promise<void> {
  const driver = new QemuDriver();
  const vm = await driver.start({ dir: guestDir, config: await readVmConfig(guestDir) });
  try {
    expect(vm.launched.detail!.argv as string[]).toContain("chardev:agent");
    expect((vm.launched.detail!.argv as string[]).some((arg) => /virtio-serial|virtserialport|vmgenid/.test(arg))).toBe(false);
    await waitForTicks(svc, id, 3);
    await vm.pause();
    const standby = join(guestDir, "standby");
    mkdirSync(standby);
    await writeSavedVm(standby, await vm.snapshot(standby), driver.memoryFile, new Date());
  } finally {
    await vm.kill();
  }
}

test("a first-release standby restores and runs on; its agent is refused with 409 until a stop and start", async () => {
  // That release had no networking: its instances have no NIC and no lease.
  const created = await svc.call("POST", "/instances", { name: "first-release", size: GUEST_SIZE, overlay_size: "128MB", network: { enabled: false } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id: string = created.body.id;
  const guestDir = join(svc.dataDir, "guests", id);
  asFirstRelease(guestDir);
  await writeLegacyStandby(svc, id, guestDir);
  expect((await svc.call("GET", `/instances/${id}`)).body.state).toBe("Standby");
  const before = (await consoleTicks(svc, id)).at(-1)!;

  const restored = await svc.call("POST", `/instances/${id}/restore`);
  expect(restored.status, JSON.stringify(restored.body)).toBe(200);
  expect(restored.body.state).toBe("Running");
  await waitForTicks(svc, id, before + 2);
  expect(isContinuous(await consoleTicks(svc, id))).toBe(true);
  expect(await bootCount(svc, id)).toBe(1);

  for (const refused of [
    await svc.call("POST", `/instances/${id}/exec`, { command: "true" }),
    await svc.call("GET", `/instances/${id}/files?path=/etc/hostname`),
  ]) {
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.code).toBe("guest_image_too_old");
    expect(refused.body.message).toContain("guest image too old: stop and start the instance to boot the current image");
  }

  expect((await svc.call("POST", `/instances/${id}/stop`)).body.state).toBe("Stopped");
  const started = await svc.call("POST", `/instances/${id}/start`);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  expect((await exec(svc, id, "echo current")).stdout).toBe("current\n");
  expect((await readLaunchRecord(guestDir, "qemu")).config).toMatchObject({ agentChannel: "virtio-serial" });
  expect(await bootCount(svc, id)).toBe(2);
}, 240_000);

test("a data dir whose default is an older build: stop and start after a first-release standby boots today's build and its agent", async () => {
  const root = mkdtempSync(join(tmpdir(), "sv-legacy-"));
  const dataDir = join(root, "data");
  // That release's image: its agent is not one this server can talk to (here: one that never answers).
  const older = writeOlderBuild(join(root, "older-build"), {
    "bin/snapvisor-agentd": { content: "#!/bin/sh\nexec sleep 1000000\n", mode: 0o755 },
    [GENERATION_MARKER.slice(1)]: { content: "first release\n", mode: 0o644 },
  });
  let service = await startService({ dataDir, guestImageDir: older });
  try {
    const created = await service.call("POST", "/instances", { name: "first-release", size: GUEST_SIZE, overlay_size: "128MB", network: { enabled: false } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    const guestDir = join(dataDir, "guests", id);
    asFirstRelease(guestDir);
    await writeLegacyStandby(service, id, guestDir);
    await service.close();
    service = await startService({ dataDir }); // today's build: the next generation of `default`

    expect((await service.call("POST", `/instances/${id}/restore`)).body.state).toBe("Running");
    expect((await service.call("POST", `/instances/${id}/exec`, { command: "true" })).body.code).toBe("guest_image_too_old");
    expect((await service.call("POST", `/instances/${id}/stop`)).body.state).toBe("Stopped");
    const started = await service.call("POST", `/instances/${id}/start`);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect((await exec(service, id, `test -e ${GENERATION_MARKER} && cat ${GENERATION_MARKER} || echo current`)).stdout).toBe("current\n");
    expect((await readLaunchRecord(guestDir, "qemu")).config).toMatchObject({ initrd: (await service.call("GET", "/images/default")).body.initrd });
  } finally {
    await service.close();
    rmSync(root, { recursive: true, force: true });
  }
}, 240_000);
