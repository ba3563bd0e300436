import { expect, test } from "bun:test";
import type { VmConfig } from "../hypervisor.ts";
import { fcBootRequests } from "./config.ts";

const base: VmConfig = {
  vcpus: 2,
  memoryBytes: 256 * 1024 * 1024,
  kernel: "/img/vmlinux",
  cmdline: "console=ttyS0",
  disks: [
    { path: "disk.raw", format: "raw", readonly: false },
    { path: "/img/base.ext4", format: "raw", readonly: true },
  ],
  guestAgent: false,
};

test("fcBootRequests: boot source, machine config, drives with paths as given (relative to the VMM's cwd)", () => {
  expect(fcBootRequests({ ...base, initrd: "/img/initrd.img" })).toEqual([
    { method: "PUT", path: "/boot-source", body: { kernel_image_path: "/img/vmlinux", boot_args: "console=ttyS0", initrd_path: "/img/initrd.img" } },
    { method: "PUT", path: "/machine-config", body: { vcpu_count: 2, mem_size_mib: 256 } },
    { method: "PUT", path: "/drives/disk0", body: { drive_id: "disk0", path_on_host: "disk.raw", is_root_device: false, is_read_only: false } },
    { method: "PUT", path: "/drives/disk1", body: { drive_id: "disk1", path_on_host: "/img/base.ext4", is_root_device: false, is_read_only: true } },
  ]);
});

test("fcBootRequests refuses what Firecracker cannot run, before any process exists", () => {
  for (const config of [
    { ...base, vcpus: 3 },
    { ...base, vcpus: 34 },
    { ...base, memoryBytes: 256 * 1024 * 1024 + 1 },
    { ...base, disks: [{ path: "d.qcow2", format: "qcow2" as const, readonly: false }] },
  ]) {
    expect(() => fcBootRequests(config)).toThrow(expect.objectContaining({ kind: "not_supported" }));
  }
  expect(fcBootRequests({ ...base, vcpus: 1 })[1]!.body.vcpu_count).toBe(1);
});
