import { describe, expect, test } from "bun:test";
import type { VmConfig } from "../hypervisor.ts";
import { incomingArgv, qemuArgv, qmpArg } from "./argv.ts";

const MIB = 1024 * 1024;
const TCG = { machine: "pc-q35-7.2", accel: "tcg" as const };

const config: VmConfig = {
  vcpus: 2,
  memoryBytes: 512 * MIB,
  kernel: "/images/default/vmlinuz",
  initrd: "/images/default/initrd.img",
  cmdline: "console=ttyS0 quiet panic=-1",
  disks: [
    { path: "disk.raw", format: "raw", readonly: false },
    { path: "/images/default/base.qcow2", format: "qcow2", readonly: true },
  ],
  guestAgent: true,
  agentChannel: "virtio-serial",
};

/** The value following each occurrence of `flag`. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1]!] : []));
}

describe("qemuArgv", () => {
  test("builds the full command line for a cold boot", () => {
    expect(qemuArgv(config, "/data/guests/a", TCG)).toEqual([
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-M", "pc-q35-7.2",
      "-accel", "tcg,thread=multi", "-cpu", "max",
      "-smp", "2", "-m", "512M",
      "-kernel", "/images/default/vmlinuz",
      "-initrd", "/images/default/initrd.img",
      "-append", "console=ttyS0 quiet panic=-1",
      "-qmp", "unix:/data/guests/a/qmp.sock,server=on,wait=off",
      "-chardev", "file,id=con,path=/data/guests/a/logs/serial.log,append=on",
      "-serial", "chardev:con",
      "-device", "virtio-serial-pci,id=agentbus",
      "-chardev", "socket,id=agent,path=/data/guests/a/agent.sock,server=on,wait=off",
      "-device", "virtserialport,bus=agentbus.0,chardev=agent,name=org.snapvisor.agent",
      "-drive", "file=/data/guests/a/disk.raw,format=raw,if=none,id=d0,cache=writeback",
      "-device", "virtio-blk-pci,drive=d0",
      "-drive", "file=/images/default/base.qcow2,format=qcow2,if=none,id=d1,cache=writeback,read-only=on",
      "-device", "virtio-blk-pci,drive=d1",
    ]);
  });

  test("KVM uses the host CPU", () => {
    const argv = qemuArgv(config, "/g", { machine: "pc-q35-7.2", accel: "kvm" });
    expect(values(argv, "-accel")).toEqual(["kvm"]);
    expect(values(argv, "-cpu")).toEqual(["host"]);
  });

  test("without agent or initrd, those options are absent", () => {
    const argv = qemuArgv({ ...config, guestAgent: false, initrd: undefined, disks: [] }, "/g", TCG);
    expect(values(argv, "-serial")).toEqual(["chardev:con"]);
    expect(argv).not.toContain("-initrd");
    expect(argv).not.toContain("-drive");
  });

  test("restore has the same hardware in the same order; only paths differ, plus -incoming defer", () => {
    const start = qemuArgv(config, "/data/guests/a", TCG);
    const restore = incomingArgv(config, "/data/guests/b", TCG);
    expect(restore.slice(-2)).toEqual(["-incoming", "defer"]);
    expect(restore.slice(0, -2).map((arg) => arg.replaceAll("/data/guests/b", "/data/guests/a"))).toEqual(start);
  });

  test("commas in paths are doubled inside option lists", () => {
    const argv = qemuArgv({ ...config, disks: [{ path: "d,1.raw", format: "raw", readonly: false }] }, "/g,x", TCG);
    expect(values(argv, "-qmp")).toEqual(["unix:/g,,x/qmp.sock,server=on,wait=off"]);
    expect(values(argv, "-drive")).toEqual(["file=/g,,x/d,,1.raw,format=raw,if=none,id=d0,cache=writeback"]);
    expect(qmpArg("/g,x")).toBe("unix:/g,,x/qmp.sock,server=on,wait=off");
  });

  test("memory must be whole MiB", () => {
    expect(() => qemuArgv({ ...config, memoryBytes: 512 * MIB + 1 }, "/g", TCG)).toThrow(/whole MiB/);
    expect(() => qemuArgv({ ...config, memoryBytes: 0 }, "/g", TCG)).toThrow(/whole MiB/);
  });
});

describe("a VM config recorded by the first release (e989562)", () => {
  // Its records have no agentChannel, generation id or network. A standby payload it wrote only loads into the
  // devices it booted, so today's builder must emit exactly what e989562's did: this literal is its argv test's.
  const { agentChannel: _, ...legacy } = config;
  const legacyArgv = [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-M", "pc-q35-7.2",
    "-accel", "tcg,thread=multi", "-cpu", "max",
    "-smp", "2", "-m", "512M",
    "-kernel", "/images/default/vmlinuz",
    "-initrd", "/images/default/initrd.img",
    "-append", "console=ttyS0 quiet panic=-1",
    "-qmp", "unix:/data/guests/a/qmp.sock,server=on,wait=off",
    "-chardev", "file,id=con,path=/data/guests/a/logs/serial.log,append=on",
    "-serial", "chardev:con",
    "-chardev", "socket,id=agent,path=/data/guests/a/agent.sock,server=on,wait=off",
    "-serial", "chardev:agent",
    "-drive", "file=/data/guests/a/disk.raw,format=raw,if=none,id=d0,cache=writeback",
    "-device", "virtio-blk-pci,drive=d0",
    "-drive", "file=/images/default/base.qcow2,format=qcow2,if=none,id=d1,cache=writeback,read-only=on",
    "-device", "virtio-blk-pci,drive=d1",
  ];

  test("restores into exactly the devices that release emitted, agent on a second UART", () => {
    expect(incomingArgv(legacy, "/data/guests/a", TCG)).toEqual([...legacyArgv, "-incoming", "defer"]);
    expect(qemuArgv(legacy, "/data/guests/a", TCG)).toEqual(legacyArgv);
  });
});

describe("network and generation id", () => {
  const mac = "02:53:56:00:00:07";
  test("user mode: slirp with each forward on host loopback only, then a virtio NIC with the MAC", () => {
    const net = { ...config, network: { mode: "user" as const, mac, forwards: [{ guestPort: 80, hostPort: 40001 }, { guestPort: 22, hostPort: 40002 }] } };
    expect(values(qemuArgv(net, "/d", TCG), "-netdev")).toEqual(["user,id=net0,hostfwd=tcp:127.0.0.1:40001-:80,hostfwd=tcp:127.0.0.1:40002-:22"]);
    expect(values(qemuArgv(net, "/d", TCG), "-device")).toContain(`virtio-net-pci,netdev=net0,mac=${mac}`);
  });
  test("bridge mode: the given TAP, no scripts, no vhost", () => {
    const net = { ...config, network: { mode: "bridge" as const, mac, tap: "sv-abc" } };
    expect(values(qemuArgv(net, "/d", TCG), "-netdev")).toEqual(["tap,id=net0,ifname=sv-abc,script=no,downscript=no,vhost=off"]);
  });
  test("a vmgenid device carries the generation id; none without one, and no NIC without a network", () => {
    const guid = "7c1a0c2e-9d3f-4f6e-8a51-0b2d6e4c9f10";
    expect(values(qemuArgv({ ...config, generationId: guid }, "/d", TCG), "-device")).toContain(`vmgenid,guid=${guid}`);
    const plain = qemuArgv(config, "/d", TCG);
    expect(plain.some((a) => a.startsWith("vmgenid") || a.startsWith("virtio-net"))).toBe(false);
    expect(values(plain, "-netdev")).toEqual([]);
  });
});

describe("RAM in a file", () => {
  test("a memory-backend-file named as plain -m names the RAM block, shared or copy-on-write; -m stays", () => {
    const shared = qemuArgv(config, "/data/guests/a", TCG, { path: "/data/guests/a/ram", share: true });
    expect(values(shared, "-object")).toEqual(["memory-backend-file,id=pc.ram,mem-path=/data/guests/a/ram,size=512M,share=on"]);
    expect(values(shared, "-machine")).toEqual(["memory-backend=pc.ram"]);
    expect(values(shared, "-m")).toEqual(["512M"]);
    const cow = incomingArgv(config, "/d", TCG, { path: "/d/a,b/ram", share: false });
    expect(values(cow, "-object")).toEqual(["memory-backend-file,id=pc.ram,mem-path=/d/a,,b/ram,size=512M,share=off"]);
    expect(cow.slice(-2)).toEqual(["-incoming", "defer"]);
    expect(values(qemuArgv(config, "/d", TCG), "-object")).toEqual([]);
  });
});
