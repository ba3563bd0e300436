// Pure translation of a VmConfig and a guest dir into QEMU's command line. Start and restore build the same
// device list in the same order (a migration stream only loads into identical virtual hardware); only the paths
// differ, and restore appends `-incoming defer`.
import { isAbsolute, join } from "node:path";
import { HypervisorError, type GuestLayout, type NetworkAttachment, type RamFile, type VmConfig } from "../hypervisor.ts";
import { accelArgs, type Accel } from "./accel.ts";

export const QEMU_LAYOUT: GuestLayout = {
  controlSocket: "qmp.sock",
  agentSocket: "agent.sock",
  serialLog: "logs/serial.log",
  ramFile: "ram",
  restoreKernel: "restore-kernel",
};

/** The machine a VM runs on: kept with every snapshot, since a restore must use the same (but for the cache cap). */
export type QemuMachine = {
  /** A versioned machine type (`pc-q35-7.2`): versioned types load across QEMU versions. */
  machine: string;
  accel: Accel;
  /** TCG's translation cache cap (see accelArgs); QEMU's default when absent. */
  tcgCacheMib?: number;
};

const MIB = 1024 * 1024;

/** The name scripts/guest/init looks for among the guest's virtio ports. */
const AGENT_PORT_NAME = "org.snapvisor.agent";

/** QEMU option lists separate by commas; a literal comma in a value is written twice. */
function optValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** The `-qmp` value; also how an adopted process is recognised as the VMM of `dir`. */
export function qmpArg(dir: string): string {
  return `unix:${optValue(join(dir, QEMU_LAYOUT.controlSocket))},server=on,wait=off`;
}

/** The backend's id is the one plain `-m` gives the RAM block, so a migration stream loads into either. */
const RAM_BACKEND_ID = "pc.ram";

export function qemuArgv(config: VmConfig, dir: string, machine: QemuMachine, ram?: RamFile): string[] {
  const memoryMiB = config.memoryBytes / MIB;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1) {
    throw new HypervisorError("not_supported", `QEMU needs guest memory in whole MiB, got ${config.memoryBytes} bytes`);
  }
  const argv = [
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-M",
    machine.machine,
    ...accelArgs(machine.accel, machine.tcgCacheMib),
    "-smp",
    String(config.vcpus),
    "-m",
    `${memoryMiB}M`,
    ...(ram ? ramArgs(ram, memoryMiB) : []),
    "-kernel",
    config.kernel,
    ...(config.initrd === undefined ? [] : ["-initrd", config.initrd]),
    "-append",
    config.cmdline,
    "-qmp",
    qmpArg(dir),
    // append=on: a restored VM's console continues the same log instead of truncating it.
    "-chardev",
    `file,id=con,path=${optValue(join(dir, QEMU_LAYOUT.serialLog))},append=on`,
    "-serial",
    "chardev:con",
  ];
  if (config.guestAgent) argv.push(...agentArgs(config.agentChannel, join(dir, QEMU_LAYOUT.agentSocket!)));
  config.disks.forEach((disk, i) => {
    const file = isAbsolute(disk.path) ? disk.path : join(dir, disk.path);
    const readOnly = disk.readonly ? ",read-only=on" : "";
    argv.push(
      "-drive",
      `file=${optValue(file)},format=${disk.format},if=none,id=d${i},cache=writeback${readOnly}`,
      "-device",
      `virtio-blk-pci,drive=d${i}`,
    );
  });
  if (config.generationId !== undefined) argv.push("-device", `vmgenid,guid=${optValue(config.generationId)}`);
  if (config.network) argv.push("-netdev", netdevArg(config.network), "-device", `virtio-net-pci,netdev=net0,mac=${optValue(config.network.mac)}`);
  return argv;
}

/**
 * The agent's channel: a virtio-serial port, not a UART (host -> guest through a 16550 ran at 12-25 KB/s, too slow
 * to copy files); the guest finds the port by its name. Without `agentChannel` (a VM of the first release) a second
 * ISA UART, as that release wired it: its standby payloads load into nothing else.
 */
function agentArgs(channel: VmConfig["agentChannel"], socket: string): string[] {
  const chardev = ["-chardev", `socket,id=agent,path=${optValue(socket)},server=on,wait=off`];
  if (channel === undefined) return [...chardev, "-serial", "chardev:agent"];
  return ["-device", "virtio-serial-pci,id=agentbus", ...chardev, "-device", `virtserialport,bus=agentbus.0,chardev=agent,name=${AGENT_PORT_NAME}`];
}

/**
 * The NIC's backend. User mode: slirp (guest 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3) with each forward bound
 * to host loopback only. Bridge: the TAP core created; vhost is off (no /dev/vhost-net on our hosts, qemu-notes §6).
 */
export function netdevArg(network: NetworkAttachment): string {
  if (network.mode === "bridge") return `tap,id=net0,ifname=${optValue(network.tap)},script=no,downscript=no,vhost=off`;
  const forwards = network.forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`);
  return `user,id=net0${forwards.join("")}`;
}

function ramArgs(ram: RamFile, memoryMiB: number): string[] {
  const backend = `memory-backend-file,id=${RAM_BACKEND_ID},mem-path=${optValue(ram.path)},size=${memoryMiB}M,share=${ram.share ? "on" : "off"}`;
  return ["-object", backend, "-machine", `memory-backend=${RAM_BACKEND_ID}`];
}

/** Restore: the same hardware, waiting for `migrate-incoming` instead of booting. */
export function incomingArgv(config: VmConfig, dir: string, machine: QemuMachine, ram?: RamFile): string[] {
  return [...qemuArgv(config, dir, machine, ram), "-incoming", "defer"];
}
