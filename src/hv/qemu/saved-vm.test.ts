import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HypervisorError, type VmConfig } from "../hypervisor.ts";
import { readRecord, rebaseDisks, restoreRefusal, savedVm, writeRecord } from "./saved-vm.ts";

const config: VmConfig = {
  vcpus: 1,
  memoryBytes: 256 * 1024 * 1024,
  kernel: "/images/default/vmlinuz",
  cmdline: "console=ttyS0",
  disks: [
    { path: "disk.raw", format: "raw", readonly: false },
    { path: "/data/guests/a/extra.raw", format: "raw", readonly: false },
    { path: "/images/default/base.raw", format: "raw", readonly: true },
  ],
  guestAgent: true,
};
const saved = savedVm("7.2.22", config, { machine: "pc-q35-7.2", accel: "tcg", argv: ["-M", "pc-q35-7.2"] });
const host = { version: "7.2.22", machines: new Set(["pc-q35-7.2", "q35"]), kvmUsable: false };

describe("restoreRefusal", () => {
  test("same version loads", () => {
    expect(restoreRefusal(saved, host)).toBeNull();
  });

  test("another version loads while it still emulates the pinned machine type", () => {
    expect(restoreRefusal({ ...saved, version: "10.0.2" }, host)).toBeNull();
  });

  test("another version without the machine type is refused with both versions and the machine named", () => {
    const old = { ...saved, version: "6.2.0", detail: { ...saved.detail, machine: "pc-q35-6.2" } };
    expect(restoreRefusal(old, host)).toBe("snapshot was written by QEMU 6.2.0 with machine pc-q35-6.2, which QEMU 7.2.22 cannot load");
  });

  test("a KVM snapshot needs KVM", () => {
    const kvm = { ...saved, detail: { ...saved.detail, accel: "kvm" as const } };
    expect(restoreRefusal(kvm, host)).toContain("KVM");
    expect(restoreRefusal(kvm, { ...host, kvmUsable: true })).toBeNull();
  });
});

describe("records on disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "saved-vm-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function failure(path: string): Promise<HypervisorError> {
    const err = await readRecord(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    return err as HypervisorError;
  }

  test("round trip", async () => {
    await writeRecord(join(dir, "vm.json"), saved);
    expect(await readRecord(join(dir, "vm.json"))).toEqual(saved);
  });

  test("another hypervisor's record is incompatible", async () => {
    writeFileSync(join(dir, "fc.json"), JSON.stringify({ ...saved, hypervisor: "firecracker" }));
    const err = await failure(join(dir, "fc.json"));
    expect(err.kind).toBe("incompatible");
    expect(err.message).toContain("firecracker");
  });

  test("a record without machine detail is incompatible; a missing one failed", async () => {
    writeFileSync(join(dir, "bare.json"), JSON.stringify({ hypervisor: "qemu", version: "7.2.22", config }));
    expect((await failure(join(dir, "bare.json"))).kind).toBe("incompatible");
    expect((await failure(join(dir, "missing.json"))).kind).toBe("failed");
  });
});

test("rebaseDisks moves only disks inside the old guest dir", () => {
  const moved = rebaseDisks(config, "/data/guests/a", "/data/guests/b");
  expect(moved.disks.map((d) => d.path)).toEqual(["disk.raw", "/data/guests/b/extra.raw", "/images/default/base.raw"]);
  expect(rebaseDisks(config, "/data/guests/a/", "/x").disks[1]!.path).toBe("/x/extra.raw");
  expect(rebaseDisks(config, "/data/guests/ab", "/x")).toEqual(config);
});
