import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImageRecord, writeImageRecord } from "./image-record.ts";
import { readInstanceRecord, writeInstanceRecord, type InstanceIdentity } from "./instance-record.ts";
import { PAYLOAD_FORMAT_VERSION, PayloadError } from "./record-file.ts";
import { readSnapshotRecord, writeSnapshotRecord } from "./snapshot-record.ts";
import { readLaunchRecord, readSavedVm, writeLaunchRecord, writeSavedVm } from "./vm-record.ts";

/** Guest dirs as the server wrote them before payloads had a format version (one per hypervisor). */
const V1 = join(import.meta.dir, "../../../test/fixtures/payload-v1");
const scratch = mkdtempSync(join(tmpdir(), "sv-payload-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function failure(read: Promise<unknown>): Promise<PayloadError> {
  const err = await read.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PayloadError);
  return err as PayloadError;
}

describe("format version 1 (records without format_version) is still read", () => {
  for (const hypervisor of ["qemu", "cloud-hypervisor", "firecracker"]) {
    test(`${hypervisor}: saved-VM, launch and instance records`, async () => {
      const guest = join(V1, hypervisor);
      const saved = await readSavedVm(join(guest, "standby"));
      expect(saved).toMatchObject({ formatVersion: 1, hypervisor, config: { disks: [{ path: "disk.raw" }] } });
      expect(saved.memoryFile).toBeUndefined(); // v1 did not say; the driver's name applies
      expect(saved.createdAt).toBeUndefined();
      expect(await readLaunchRecord(guest, hypervisor)).toMatchObject({ formatVersion: 1, hypervisor, version: saved.version });
      const instance = await readInstanceRecord(guest);
      expect(instance).toMatchObject({ formatVersion: 1, config: saved.config });
      expect(instance.instance).toBeUndefined(); // v1 kept no identity: such a dir cannot rebuild a row
    });
  }
});

describe("format version 2", () => {
  const identity: InstanceIdentity = {
    id: "abc",
    name: "web",
    image: "default",
    hypervisor: "qemu",
    vcpus: 1,
    memoryBytes: 256 << 20,
    overlayBytes: 1 << 30,
    env: { A: "1" },
    tags: { team: "x" },
    snapshotPolicy: null,
    skipGuestAgent: false,
    network: { enabled: true, downloadBytesPerSec: 0, uploadBytesPerSec: 125_000_000, guestPorts: [80] },
    createdAt: new Date("2026-01-02T03:04:05.678Z"),
    forkOfSnapshot: "snap1",
  };

  test("records round-trip with their version, dates and the memory file's name", async () => {
    const dir = join(scratch, "v2");
    cpSync(join(V1, "qemu"), dir, { recursive: true });
    const v1 = await readSavedVm(join(dir, "standby"));
    const at = new Date("2026-02-03T04:05:06.000Z");
    await writeSavedVm(join(dir, "standby"), v1, "memory", at);
    expect(await readSavedVm(join(dir, "standby"))).toEqual({ ...v1, formatVersion: PAYLOAD_FORMAT_VERSION, memoryFile: "memory", createdAt: at });
    await writeLaunchRecord(dir, v1, at);
    expect(await readLaunchRecord(dir, "qemu")).toEqual({ ...v1, formatVersion: PAYLOAD_FORMAT_VERSION, createdAt: at });
    await writeInstanceRecord(dir, v1.config, identity);
    expect(await readInstanceRecord(dir)).toEqual({ formatVersion: PAYLOAD_FORMAT_VERSION, config: v1.config, instance: identity });
    const snapshot = {
      id: "snap1",
      name: null,
      kind: "Standby" as const,
      tags: {},
      sourceInstanceId: "abc",
      sourceInstanceName: "web",
      sourceHypervisor: "qemu",
      sourceHypervisorVersion: "7.2.22",
      createdAt: at,
    };
    await writeSnapshotRecord(dir, snapshot);
    expect(await readSnapshotRecord(dir)).toEqual({ ...snapshot, formatVersion: PAYLOAD_FORMAT_VERSION });
    const image = { name: "default", kernel: join(dir, "kernel-vmlinuz"), initrd: null, rootfs: join(dir, "rootfs-disk.ext4"), cmdline: "console=ttyS0", createdAt: at };
    await writeImageRecord(dir, image);
    expect(await readImageRecord(dir)).toEqual(image);
  });

  test("missing, malformed and newer records are PayloadErrors naming the file", async () => {
    const dir = join(scratch, "bad");
    cpSync(join(V1, "qemu"), dir, { recursive: true });
    expect((await failure(readSnapshotRecord(dir))).kind).toBe("missing");
    writeFileSync(join(dir, "standby/vm.json"), "{ not json");
    const unreadable = await failure(readSavedVm(join(dir, "standby")));
    expect(unreadable.kind).toBe("unreadable");
    expect(unreadable.message).toContain(join(dir, "standby/vm.json"));
    writeFileSync(join(dir, "standby/vm.json"), JSON.stringify({ hypervisor: "qemu", config: {} }));
    expect((await failure(readSavedVm(join(dir, "standby")))).message).toContain("version");
    writeFileSync(join(dir, "vm.json"), JSON.stringify({ format_version: PAYLOAD_FORMAT_VERSION + 1, config: {} }));
    const newer = await failure(readInstanceRecord(dir));
    expect(newer.kind).toBe("newer");
    expect(newer.message).toContain(`format version ${PAYLOAD_FORMAT_VERSION + 1}`);
  });
});
