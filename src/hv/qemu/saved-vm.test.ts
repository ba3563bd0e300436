import { describe, expect, test } from "bun:test";
import { HypervisorError, type StoredVm, type VmConfig } from "../hypervisor.ts";
import { rebaseDisks, restoreRefusal, savedVm, verifyQemuSavedVm } from "./saved-vm.ts";

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

describe("verifyQemuSavedVm", () => {
  function failure(stored: unknown): HypervisorError {
    try {
      verifyQemuSavedVm(stored as StoredVm);
    } catch (err) {
      expect(err).toBeInstanceOf(HypervisorError);
      return err as HypervisorError;
    }
    throw new Error("accepted");
  }

  test("a complete QEMU record passes as it is", () => {
    expect(verifyQemuSavedVm(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
  });

  test("another hypervisor's record is incompatible, naming it", () => {
    const err = failure({ ...saved, hypervisor: "firecracker" });
    expect(err.kind).toBe("incompatible");
    expect(err.message).toContain("firecracker");
  });

  test("a record without machine detail or config is incompatible", () => {
    expect(failure({ hypervisor: "qemu", version: "7.2.22", config }).kind).toBe("incompatible");
    expect(failure({ ...saved, config: null }).kind).toBe("incompatible");
    expect(failure({ ...saved, detail: { ...saved.detail, accel: "hvf" } }).kind).toBe("incompatible");
  });
});

test("rebaseDisks moves only disks inside the old guest dir", () => {
  const moved = rebaseDisks(config, "/data/guests/a", "/data/guests/b");
  expect(moved.disks.map((d) => d.path)).toEqual(["disk.raw", "/data/guests/b/extra.raw", "/images/default/base.raw"]);
  expect(rebaseDisks(config, "/data/guests/a/", "/x").disks[1]!.path).toBe("/x/extra.raw");
  expect(rebaseDisks(config, "/data/guests/ab", "/x")).toEqual(config);
});
