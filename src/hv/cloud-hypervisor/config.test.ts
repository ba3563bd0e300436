import { expect, test } from "bun:test";
import type { VmConfig } from "../hypervisor.ts";
import { chVmConfig, rebaseChConfig } from "./config.ts";

const base: VmConfig = {
  vcpus: 2,
  memoryBytes: 512 * 1024 * 1024,
  kernel: "/img/vmlinux",
  initrd: "/img/initrd.img",
  cmdline: "console=ttyS0",
  disks: [
    { path: "disk.raw", format: "raw", readonly: false },
    { path: "/img/base.qcow2", format: "qcow2", readonly: true },
  ],
  guestAgent: false,
  extra: { accel: "tcg" },
};

test("chVmConfig: absolute disk and serial paths under the guest dir, image types, no virtio console", () => {
  expect(chVmConfig(base, "/d/guests/a", "logs/serial.log")).toEqual({
    payload: { kernel: "/img/vmlinux", cmdline: "console=ttyS0", initramfs: "/img/initrd.img" },
    cpus: { boot_vcpus: 2, max_vcpus: 2 },
    memory: { size: 536870912 },
    disks: [
      { path: "/d/guests/a/disk.raw", readonly: false, image_type: "Raw" },
      { path: "/img/base.qcow2", readonly: true, image_type: "Qcow2" },
    ],
    serial: { mode: "File", file: "/d/guests/a/logs/serial.log" },
    console: { mode: "Off" },
  });
});

test("chVmConfig: no initrd and no disks leave those fields out", () => {
  const json = chVmConfig({ ...base, initrd: undefined, disks: [] }, "/d/a", "s.log");
  expect(json.payload).toEqual({ kernel: "/img/vmlinux", cmdline: "console=ttyS0" });
  expect("disks" in json).toBe(false);
});

test("rebaseChConfig moves paths under the source dir only (not siblings sharing a prefix, not the kernel)", () => {
  const config = {
    payload: { kernel: "/img/vmlinux", cmdline: "console=ttyS0 root=/d/guests/a" },
    disks: [{ path: "/d/guests/a/disk.raw" }, { path: "/d/guests/ab/disk.raw" }, { path: "/d/guests/a/..x/d" }],
    serial: { mode: "File", file: "/d/guests/a/logs/serial.log" },
    vsock: { cid: 3, socket: "/d/guests/a/vsock.sock" },
    net: [{ tap: "tap0" }],
    cwd: "/d/guests/a",
    memory: { size: 1 },
  };
  expect(rebaseChConfig(config, "/d/guests/a", "/d/guests/b")).toEqual({
    payload: { kernel: "/img/vmlinux", cmdline: "console=ttyS0 root=/d/guests/a" },
    disks: [{ path: "/d/guests/b/disk.raw" }, { path: "/d/guests/ab/disk.raw" }, { path: "/d/guests/b/..x/d" }],
    serial: { mode: "File", file: "/d/guests/b/logs/serial.log" },
    vsock: { cid: 3, socket: "/d/guests/b/vsock.sock" },
    net: [{ tap: "tap0" }],
    cwd: "/d/guests/b",
    memory: { size: 1 },
  });
});
