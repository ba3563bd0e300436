// Which accelerator QEMU uses. `auto` picks KVM only where it can run a stock kernel: the CPU has hardware
// virtualisation, /dev/kvm opens read-write, and the KVM is not kvm-pvm, the software nested hypervisor of our
// development machines that dies on a stock kernel (qemu-notes.md §1). Everything else runs under TCG.
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

export const ACCEL_MODES = ["auto", "kvm", "tcg"] as const;
export type AccelMode = (typeof ACCEL_MODES)[number];
export type Accel = "kvm" | "tcg";

export interface HostVirtualisation {
  /** /proc/cpuinfo lists vmx (Intel) or svm (AMD). */
  cpuHasVirtualisation: boolean;
  kvmOpensReadWrite: boolean;
  /** /sys/module/kvm_pvm exists: KVM is PVM's software nesting. */
  kvmIsPvm: boolean;
}

export const HOST_PATHS = { cpuinfo: "/proc/cpuinfo", kvm: "/dev/kvm", kvmPvm: "/sys/module/kvm_pvm" };

export function probeHost(paths = HOST_PATHS): HostVirtualisation {
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync(paths.cpuinfo, "utf8");
  } catch {}
  let kvmOpensReadWrite = false;
  try {
    closeSync(openSync(paths.kvm, "r+"));
    kvmOpensReadWrite = true;
  } catch {}
  return {
    cpuHasVirtualisation: /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo),
    kvmOpensReadWrite,
    kvmIsPvm: existsSync(paths.kvmPvm),
  };
}

export function kvmUsable(host: HostVirtualisation): boolean {
  return host.cpuHasVirtualisation && host.kvmOpensReadWrite && !host.kvmIsPvm;
}

/** A forced mode is taken as asked; the operator knows their host. */
export function chooseAccel(mode: AccelMode, host: HostVirtualisation): Accel {
  if (mode !== "auto") return mode;
  return kvmUsable(host) ? "kvm" : "tcg";
}

/**
 * `-cpu max` under TCG: every feature TCG emulates; `host` under KVM: the real CPU's features. `tcgCacheMib` caps
 * TCG's translation cache (`tb-size`; QEMU's default grows it up to 1 GiB): what it holds is each guest's own
 * translated code, private to its QEMU, so a cap bounds an idle fork's memory at the price of retranslating when a
 * busy guest's code outgrows it. Not part of the hardware: a restore may run with another cap.
 */
export function accelArgs(accel: Accel, tcgCacheMib?: number): string[] {
  if (accel === "kvm") return ["-accel", "kvm", "-cpu", "host"];
  return ["-accel", `tcg,thread=multi${tcgCacheMib === undefined ? "" : `,tb-size=${tcgCacheMib}`}`, "-cpu", "max"];
}
