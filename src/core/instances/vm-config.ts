// The VM's virtual hardware, kept as `vm.json` in the guest dir so that it travels with every snapshot payload:
// restoring a snapshot reverts the hardware with the files, and a fork gets the same machine in a new dir.
import { join } from "node:path";
import type { VmConfig } from "../../hv/hypervisor.ts";
import { writeFileAtomic } from "../../fs/atomic.ts";
import { GUEST_FILES } from "../../store/paths.ts";
import type { ImageRow } from "../../store/schema.ts";
import { internal } from "../errors.ts";

/** The per-instance writable disk, a sparse copy of the image's rootfs. */
export const INSTANCE_DISK = "disk.raw";

export function vmConfigFor(image: ImageRow, opts: { vcpus: number; memoryBytes: number; guestAgent: boolean }): VmConfig {
  return {
    vcpus: opts.vcpus,
    memoryBytes: opts.memoryBytes,
    kernel: image.kernel,
    ...(image.initrd ? { initrd: image.initrd } : {}),
    cmdline: image.cmdline,
    disks: image.rootfs ? [{ path: INSTANCE_DISK, format: "raw", readonly: false }] : [],
    guestAgent: opts.guestAgent,
  };
}

export async function readVmConfig(dir: string): Promise<VmConfig> {
  const file = join(dir, GUEST_FILES.vmConfig);
  try {
    return (await Bun.file(file).json()) as VmConfig;
  } catch (err) {
    throw internal(`read VM config ${file}`, err);
  }
}

export async function writeVmConfig(dir: string, config: VmConfig): Promise<void> {
  await writeFileAtomic(join(dir, GUEST_FILES.vmConfig), `${JSON.stringify(config, null, 2)}\n`);
}
