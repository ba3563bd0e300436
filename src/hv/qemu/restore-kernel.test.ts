import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VmConfig } from "../hypervisor.ts";
import { restoreBootConfig } from "./restore-kernel.ts";

const dir = mkdtempSync(join(tmpdir(), "restore-kernel-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bzImage-shaped file: `setupSects` at 0x1f1, "HdrS" at 0x202, then a payload of distinct bytes. */
function bzImage(name: string, setupSects: number, total: number): string {
  const bytes = new Uint8Array(total).map((_, i) => i % 251);
  bytes[0x1f1] = setupSects;
  bytes.set(new TextEncoder().encode("HdrS"), 0x202);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const config = (kernel: string): VmConfig =>
  ({ kernel, initrd: join(dir, "initrd"), cmdline: "console=ttyS0", memoryBytes: 1 << 28, vcpus: 1, disks: [], guestAgent: true }) as VmConfig;

describe("restoreBootConfig", () => {
  test("a bzImage is cut to its setup sectors (setup_sects + 1) and the initrd is dropped", async () => {
    const kernel = bzImage("vmlinuz", 27, 1 << 20);
    const guest = mkdtempSync(join(dir, "g-"));
    const boot = await restoreBootConfig(config(kernel), guest);
    expect(boot.kernel).toBe(join(guest, "restore-kernel"));
    expect(boot.initrd).toBeUndefined();
    expect(boot.cmdline).toBe("console=ttyS0");
    expect(readFileSync(boot.kernel)).toEqual(readFileSync(kernel).subarray(0, 28 * 512));
  });

  test("setup_sects 0 means 4, as in the boot protocol", async () => {
    const guest = mkdtempSync(join(dir, "g-"));
    const boot = await restoreBootConfig(config(bzImage("old", 0, 64 * 1024)), guest);
    expect(readFileSync(boot.kernel).length).toBe(5 * 512);
  });

  test("a kernel without the header (ELF, truncated) is passed unchanged", async () => {
    const elf = join(dir, "vmlinux");
    writeFileSync(elf, new Uint8Array(8192).fill(0x7f));
    const guest = mkdtempSync(join(dir, "g-"));
    expect(await restoreBootConfig(config(elf), guest)).toEqual(config(elf));
    const short = bzImage("short", 60, 4096);
    expect(await restoreBootConfig(config(short), guest)).toEqual(config(short));
  });

  test("a missing kernel names the file", async () => {
    await expect(restoreBootConfig(config(join(dir, "gone")), dir)).rejects.toThrow(/boot header of .*gone/);
  });
});
