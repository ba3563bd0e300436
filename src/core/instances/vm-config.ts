// The VM's virtual hardware, kept in the guest dir's instance record (store/payload) so that it travels with every
// snapshot payload: restoring a snapshot reverts the hardware with the files, and a fork gets the same machine in
// a new dir. The record also names the instance, so a lost index can be rebuilt from the dir.
import type { VmConfig } from "../../hv/hypervisor.ts";
import { identityOf, readInstanceRecord, writeInstanceRecord } from "../../store/payload/instance-record.ts";
import type { ImageRow, InstanceRow } from "../../store/schema.ts";
import { inStep } from "../errors.ts";

/** The per-instance writable disk, a sparse copy of the image's rootfs. */
export const INSTANCE_DISK = "disk.raw";

/**
 * How every boot wires the guest agent today. A record without `agentChannel` was written by the first release:
 * its standby payload restores into that release's devices, but the agent there (an older image's, on a UART)
 * cannot be used until a stop and start boots the current image with the current channel.
 */
export const AGENT_CHANNEL = "virtio-serial" as const;

/** A cold boot wires today's devices whatever the record was written with (only a restore must match old ones). */
export function coldBootConfig(config: VmConfig): VmConfig {
  return { ...config, agentChannel: AGENT_CHANNEL };
}

/** The VM has an agent, but one of the first release's (see AGENT_CHANNEL). */
export function hasLegacyAgent(config: VmConfig): boolean {
  return config.guestAgent && config.agentChannel !== AGENT_CHANNEL;
}

export function vmConfigFor(image: ImageRow, opts: { vcpus: number; memoryBytes: number; guestAgent: boolean; generationId: string }): VmConfig {
  return {
    vcpus: opts.vcpus,
    memoryBytes: opts.memoryBytes,
    kernel: image.kernel,
    ...(image.initrd ? { initrd: image.initrd } : {}),
    cmdline: image.cmdline,
    disks: image.rootfs ? [{ path: INSTANCE_DISK, format: "raw", readonly: false }] : [],
    guestAgent: opts.guestAgent,
    agentChannel: AGENT_CHANNEL,
    generationId: opts.generationId,
  };
}

/** The record keeps the VmConfig core wrote, whichever format version; drivers check what they load. */
export async function readVmConfig(dir: string): Promise<VmConfig> {
  try {
    return (await readInstanceRecord(dir)).config as unknown as VmConfig;
  } catch (err) {
    throw inStep("read VM config", err);
  }
}

/** Writes the instance record of the guest dir `dir` (or of a staging dir that becomes it). */
export async function writeInstanceFiles(dir: string, config: VmConfig, row: InstanceRow, forkOfSnapshot: string | null): Promise<void> {
  await writeInstanceRecord(dir, config, identityOf(row, forkOfSnapshot));
}
