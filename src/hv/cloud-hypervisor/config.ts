// Pure translations of the Cloud Hypervisor VmConfig JSON: ours → the `vm.create` body, and a snapshot's
// `config.json` → the same VM under another guest dir (a fork). CH restores every device from `config.json`, with
// paths exactly as they were given (hypervisor-apis.md §1.8), so those paths are what a fork must rewrite.
import { isAbsolute, join, relative } from "node:path";
import { HypervisorError, type VmConfig } from "../hypervisor.ts";

/** The fields of CH's VmConfig this driver sets (cloud-hypervisor.v53.0.yaml `VmConfig`). */
export interface ChVmConfig {
  payload: { kernel: string; cmdline: string; initramfs?: string };
  cpus: { boot_vcpus: number; max_vcpus: number };
  memory: { size: number };
  disks?: { path: string; readonly: boolean; image_type: "Raw" | "Qcow2" }[];
  net?: { tap: string; mac: string }[];
  serial: { mode: "File"; file: string };
  console: { mode: "Off" };
}

/**
 * The `vm.create` body for `config` in guest dir `dir`. Every path is absolute (CH keeps them as given and a
 * fork rewrites them by prefix). The serial port (ttyS0, the image's `console=ttyS0`) goes to `serialLog`;
 * the virtio console is off. `extra` holds no CH knobs: other drivers' keys are ignored.
 */
export function chVmConfig(config: VmConfig, dir: string, serialLog: string): ChVmConfig {
  return {
    payload: { kernel: config.kernel, cmdline: config.cmdline, ...(config.initrd ? { initramfs: config.initrd } : {}) },
    cpus: { boot_vcpus: config.vcpus, max_vcpus: config.vcpus },
    memory: { size: config.memoryBytes },
    ...(config.disks.length > 0
      ? {
          disks: config.disks.map((disk) => ({
            path: isAbsolute(disk.path) ? disk.path : join(dir, disk.path),
            readonly: disk.readonly,
            image_type: disk.format === "qcow2" ? ("Qcow2" as const) : ("Raw" as const),
          })),
        }
      : {}),
    ...(config.network ? { net: [chNet(config)] } : {}),
    serial: { mode: "File", file: join(dir, serialLog) },
    console: { mode: "Off" },
  };
}

/**
 * A snapshot's `config.json` with its NIC backed by `network` (the restoring VM's TAP and MAC). CH keeps the guest's
 * device state, so the guest learns its new MAC from the post-resume handoff; what CH opens is the TAP named here.
 */
export function withChNetwork(config: unknown, network: NonNullable<VmConfig["network"]>): unknown {
  if (network.mode !== "bridge") throw new HypervisorError("not_supported", "cloud-hypervisor has no user-mode network: use bridge mode");
  const c = config as { net?: Record<string, unknown>[] };
  if (!Array.isArray(c?.net) || c.net.length === 0) return config;
  return { ...c, net: c.net.map((nic, i) => (i === 0 ? { ...nic, tap: network.tap, mac: network.mac } : nic)) };
}

/** CH attaches TAPs only; user-mode networking is QEMU's (the capabilities say so, core refuses it first). */
function chNet(config: VmConfig): { tap: string; mac: string } {
  const network = config.network!;
  if (network.mode !== "bridge") throw new HypervisorError("not_supported", "cloud-hypervisor has no user-mode network: use bridge mode");
  return { tap: network.tap, mac: network.mac };
}

/**
 * A snapshot's `config.json` for a fork: every string that is `fromDir` or a path under it (disks, serial and
 * console files or sockets, vsock and other sockets) is moved to the same place under `toDir`; paths elsewhere
 * (kernel, shared read-only bases) are kept. Tap names are not paths: the restore names the fork's (withChNetwork).
 */
export function rebaseChConfig(config: unknown, fromDir: string, toDir: string): unknown {
  if (typeof config === "string") return rebasePath(config, fromDir, toDir);
  if (Array.isArray(config)) return config.map((item) => rebaseChConfig(item, fromDir, toDir));
  if (config !== null && typeof config === "object") {
    return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, rebaseChConfig(value, fromDir, toDir)]));
  }
  return config;
}

function rebasePath(value: string, fromDir: string, toDir: string): string {
  if (!isAbsolute(value)) return value;
  const inside = relative(fromDir, value);
  if (inside === "") return toDir;
  if (inside === ".." || inside.startsWith("../") || isAbsolute(inside)) return value;
  return join(toDir, inside);
}
