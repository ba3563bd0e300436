// What a restored QEMU is given as its kernel. QEMU reads `-kernel` and `-initrd` whole into anonymous memory and
// keeps them for the process's life, to serve them through fw_cfg at the next boot (~15 MB for the default image,
// a quarter of an idle fork's private memory). A restored guest never boots from them: its kernel is already in
// its RAM, and `-no-reboot` ends QEMU where a reboot would read them. So a restore gets the kernel's real-mode
// setup part only, with the same boot header; QEMU then loads the same option ROM (the only trace a `-kernel`
// leaves in the migrated hardware) and holds a few KB. A kernel without a bzImage header is passed unchanged.
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inStep, type VmConfig } from "../hypervisor.ts";
import { QEMU_LAYOUT } from "./argv.ts";

/** x86 boot protocol: setup sectors at 0x1f1 (0 means 4), "HdrS" at 0x202; the setup is that many sectors + 1. */
const SETUP_SECTS_OFFSET = 0x1f1;
const HEADER_MAGIC_OFFSET = 0x202;
const HEADER_MAGIC = 0x53726448;
const SECTOR = 512;

/** `config` as a restoring QEMU needs it: the boot payload replaced by the setup part of the kernel. */
export async function restoreBootConfig(config: VmConfig, dir: string): Promise<VmConfig> {
  const setup = await bzImageSetup(config.kernel).catch((err) => {
    throw inStep(`read the boot header of ${config.kernel}`, err);
  });
  if (!setup) return config;
  const kernel = join(dir, QEMU_LAYOUT.restoreKernel!);
  await writeFile(kernel, setup);
  const { initrd: _dropped, ...rest } = config;
  return { ...rest, kernel };
}

/** The setup part of a bzImage; undefined for any other kernel format. */
async function bzImageSetup(kernel: string): Promise<Uint8Array | undefined> {
  const file = await open(kernel, "r");
  try {
    const head = new Uint8Array(HEADER_MAGIC_OFFSET + 4);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const view = new DataView(head.buffer);
    if (bytesRead < head.length || view.getUint32(HEADER_MAGIC_OFFSET, true) !== HEADER_MAGIC) return undefined;
    const size = ((head[SETUP_SECTS_OFFSET] || 4) + 1) * SECTOR;
    const setup = new Uint8Array(size);
    if ((await file.read(setup, 0, size, 0)).bytesRead < size) return undefined;
    return setup;
  } finally {
    await file.close();
  }
}
