// Pure translation of our VmConfig into Firecracker's pre-boot API calls (hypervisor-apis.md §2.3). Firecracker
// rejects unknown fields with 400, so only fields of the v1.16.1 spec that every supported release knows are set.
//
// Drive paths stay relative to the guest dir and the VMM runs with the guest dir as its cwd: Firecracker records
// drive paths in its snapshot state file and has no override for them (§2.9), so relative paths are what let a
// snapshot be restored (or forked) in another guest dir without rewriting the state file.
import { HypervisorError, type NetworkAttachment, type VmConfig } from "../hypervisor.ts";

/** Firecracker's vCPU limit (spec `MachineConfiguration.vcpu_count`). */
export const FC_MAX_VCPUS = 32;
const MIB = 1024 * 1024;

export interface FcRequest {
  method: "PUT";
  path: string;
  body: Record<string, unknown>;
}

/** The calls before `InstanceStart`, in the order Firecracker documents them. */
export function fcBootRequests(config: VmConfig): FcRequest[] {
  // "Number of vCPUs (either 1 or an even number)": the spec's bound says 1–32, the text says the rest.
  if (config.vcpus < 1 || config.vcpus > FC_MAX_VCPUS || (config.vcpus > 1 && config.vcpus % 2 !== 0)) {
    throw new HypervisorError("not_supported", `firecracker runs 1 or an even number of vCPUs up to ${FC_MAX_VCPUS}, not ${config.vcpus}`);
  }
  if (config.memoryBytes % MIB !== 0) {
    throw new HypervisorError("not_supported", `firecracker sizes memory in whole MiB; ${config.memoryBytes} bytes is not`);
  }
  const requests: FcRequest[] = [
    {
      method: "PUT",
      path: "/boot-source",
      body: { kernel_image_path: config.kernel, boot_args: config.cmdline, ...(config.initrd ? { initrd_path: config.initrd } : {}) },
    },
    { method: "PUT", path: "/machine-config", body: { vcpu_count: config.vcpus, mem_size_mib: config.memoryBytes / MIB } },
  ];
  config.disks.forEach((disk, index) => {
    if (disk.format !== "raw") throw new HypervisorError("not_supported", `firecracker drives are raw images; ${disk.path} is ${disk.format}`);
    const driveId = `disk${index}`;
    // Not a root device: FC would append root=/dev/vda to the command line, and our images set up their own root.
    requests.push({
      method: "PUT",
      path: `/drives/${driveId}`,
      body: { drive_id: driveId, path_on_host: disk.path, is_root_device: false, is_read_only: disk.readonly },
    });
  });
  if (config.network) {
    // TAPs only; user-mode networking is QEMU's (the capabilities say so, core refuses it first).
    if (config.network.mode !== "bridge") throw new HypervisorError("not_supported", "firecracker has no user-mode network: use bridge mode");
    requests.push({
      method: "PUT",
      path: "/network-interfaces/eth0",
      body: { iface_id: "eth0", host_dev_name: config.network.tap, guest_mac: config.network.mac },
    });
  }
  return requests;
}

/**
 * The `/snapshot/load` body: the File backend maps the memory file and never writes it (exactly one of
 * mem_file_path / mem_backend). FC reopens the TAP recorded in its state file unless told another
 * (`network_overrides`, ≥ 1.12): a restoring VM names its own, so a fork never opens its source's.
 */
export function fcSnapshotLoadBody(files: { state: string; memory: string }, network?: NetworkAttachment): Record<string, unknown> {
  return {
    snapshot_path: files.state,
    mem_backend: { backend_type: "File", backend_path: files.memory },
    resume_vm: false,
    ...(network?.mode === "bridge" ? { network_overrides: [{ iface_id: "eth0", host_dev_name: network.tap }] } : {}),
  };
}
