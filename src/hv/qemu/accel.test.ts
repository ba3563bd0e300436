import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accelArgs, chooseAccel, probeHost, type HostVirtualisation } from "./accel.ts";

const HARDWARE_KVM: HostVirtualisation = { cpuHasVirtualisation: true, kvmOpensReadWrite: true, kvmIsPvm: false };

describe("chooseAccel", () => {
  test("auto picks KVM only on a host with hardware KVM", () => {
    expect(chooseAccel("auto", HARDWARE_KVM)).toBe("kvm");
    expect(chooseAccel("auto", { ...HARDWARE_KVM, cpuHasVirtualisation: false })).toBe("tcg");
    expect(chooseAccel("auto", { ...HARDWARE_KVM, kvmOpensReadWrite: false })).toBe("tcg");
    // kvm-pvm: /dev/kvm opens but cannot run a stock kernel (qemu-notes.md §1).
    expect(chooseAccel("auto", { ...HARDWARE_KVM, kvmIsPvm: true })).toBe("tcg");
  });

  test("a forced mode is taken as asked", () => {
    expect(chooseAccel("tcg", HARDWARE_KVM)).toBe("tcg");
    expect(chooseAccel("kvm", { cpuHasVirtualisation: false, kvmOpensReadWrite: false, kvmIsPvm: true })).toBe("kvm");
  });

  test("arguments per accelerator", () => {
    expect(accelArgs("tcg")).toEqual(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    expect(accelArgs("kvm")).toEqual(["-accel", "kvm", "-cpu", "host"]);
    // The translation cache cap is TCG's alone.
    expect(accelArgs("tcg", 12)).toEqual(["-accel", "tcg,thread=multi,tb-size=12", "-cpu", "max"]);
    expect(accelArgs("kvm", 12)).toEqual(["-accel", "kvm", "-cpu", "host"]);
  });
});

describe("probeHost", () => {
  const root = mkdtempSync(join(tmpdir(), "accel-test-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("reads CPU flags, /dev/kvm access and the kvm_pvm module from the given paths", () => {
    writeFileSync(join(root, "cpuinfo"), "processor\t: 0\nflags\t\t: fpu vme de svm lm\n");
    writeFileSync(join(root, "kvm"), "");
    mkdirSync(join(root, "kvm_pvm"));
    const paths = { cpuinfo: join(root, "cpuinfo"), kvm: join(root, "kvm"), kvmPvm: join(root, "kvm_pvm") };
    expect(probeHost(paths)).toEqual({ cpuHasVirtualisation: true, kvmOpensReadWrite: true, kvmIsPvm: true });
  });

  test("missing files mean no virtualisation", () => {
    writeFileSync(join(root, "cpuinfo-plain"), "flags\t\t: fpu vme de lm svmx\n");
    const paths = { cpuinfo: join(root, "cpuinfo-plain"), kvm: join(root, "absent"), kvmPvm: join(root, "absent") };
    expect(probeHost(paths)).toEqual({ cpuHasVirtualisation: false, kvmOpensReadWrite: false, kvmIsPvm: false });
  });
});
