// Where the Cloud Hypervisor / Firecracker driver suites run: always against the fake VMM processes in
// test/fakes/, and against a real binary when one is on PATH or named by SNAPVISOR_CH_BIN / SNAPVISOR_FC_BIN
// (it then needs a guest kernel that binary can boot: SNAPVISOR_TEST_KERNEL, else the default guest image's).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { readCallLog, type LoggedCall } from "../fakes/fake-vmm.ts";

const FAKES = join(import.meta.dir, "../fakes");
const GUEST_IMAGE_DIR = process.env.SNAPVISOR_GUEST_DIR ?? join(import.meta.dir, "../../.cache/guest");
const DISK_BYTES = 16 * 1024 * 1024;
const FAKE_MEMORY_BYTES = 64 * 1024 * 1024;

export type VmmName = "cloud-hypervisor" | "firecracker";

export interface FakeTarget {
  kind: "fake";
  /** Argv prefix for the driver. */
  command: string[];
  logFile: string;
  calls(): LoggedCall[];
}

export interface RealTarget {
  kind: "real";
  command: string[];
  kernel: string;
}

/** A fake VMM process: `bun test/fakes/fake-<name>.ts --fake-log <file> [fake flags]`. */
export function fakeTarget(name: VmmName, scratch: string, fakeFlags: string[] = []): FakeTarget {
  const logFile = join(scratch, `calls-${crypto.randomUUID()}.jsonl`);
  writeFileSync(logFile, "");
  return {
    kind: "fake",
    command: [process.execPath, join(FAKES, `fake-${name}.ts`), "--fake-log", logFile, ...fakeFlags],
    logFile,
    calls: () => readCallLog(readFileSync(logFile, "utf8")),
  };
}

/** The real binary and kernel, or why the real-binary suite is skipped. */
export function realTarget(name: VmmName): RealTarget | { skip: string } {
  const envVar = name === "cloud-hypervisor" ? "SNAPVISOR_CH_BIN" : "SNAPVISOR_FC_BIN";
  const binary = process.env[envVar] || Bun.which(name);
  if (!binary) return { skip: `no ${name} binary on PATH and ${envVar} is not set` };
  const kernel = process.env.SNAPVISOR_TEST_KERNEL ?? join(GUEST_IMAGE_DIR, "vmlinuz");
  if (!existsSync(kernel)) return { skip: `${name} found at ${binary} but no guest kernel: set SNAPVISOR_TEST_KERNEL or run scripts/build-guest` };
  return { kind: "real", command: [binary], kernel };
}

/** A scratch root with short paths (Unix socket paths must stay under 108 bytes). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A guest dir with a sparse raw disk (`disk.raw`) and its VmConfig. */
export function guestFixture(root: string, name: string, kernel?: string): { dir: string; config: VmConfig } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "disk.raw"), "");
  truncateSync(join(dir, "disk.raw"), DISK_BYTES);
  let kernelPath = kernel;
  if (!kernelPath) {
    kernelPath = join(root, "vmlinux");
    writeFileSync(kernelPath, "not a kernel: the fakes only check that it exists\n");
  }
  const config: VmConfig = {
    vcpus: 2,
    memoryBytes: FAKE_MEMORY_BYTES,
    kernel: kernelPath,
    cmdline: "console=ttyS0 panic=-1",
    disks: [{ path: "disk.raw", format: "raw", readonly: false }],
    guestAgent: false,
  };
  return { dir, config };
}

export function removeScratch(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** "METHOD path" of each call, in order, for sequence assertions. */
export function callLine(call: LoggedCall): string {
  return `${call.method} ${call.path}`;
}
