// The one table of drivers this host offers. A driver whose VMM binary is not installed is left out, so an
// instance asking for it gets a clear "not available on this host" instead of failing at boot.
import { CloudHypervisorDriver } from "./cloud-hypervisor/driver.ts";
import { FirecrackerDriver } from "./firecracker/driver.ts";
import type { Hypervisors } from "./hypervisor.ts";
import { QemuDriver, type DriverLogger } from "./qemu/driver.ts";
import type { AccelMode } from "./qemu/accel.ts";
import { VmmSupervisor } from "./vmm-process.ts";

export interface HypervisorsConfig {
  qemu: { binary: string; accel: AccelMode; machine: string };
  cloudHypervisor: { binary: string };
  firecracker: { binary: string };
}

export interface HostDrivers {
  drivers: Hypervisors;
  /** Ends every VMM the drivers started (last resort at process exit). */
  supervisor: VmmSupervisor;
}

export function createHypervisors(config: HypervisorsConfig, logger?: DriverLogger): HostDrivers {
  const supervisor = new VmmSupervisor();
  const drivers: Hypervisors = {};
  if (Bun.which(config.qemu.binary)) drivers.qemu = new QemuDriver({ ...config.qemu, logger, supervisor });
  if (Bun.which(config.cloudHypervisor.binary)) {
    drivers["cloud-hypervisor"] = new CloudHypervisorDriver({ command: [config.cloudHypervisor.binary], supervisor });
  }
  if (Bun.which(config.firecracker.binary)) {
    drivers.firecracker = new FirecrackerDriver({ command: [config.firecracker.binary], supervisor });
  }
  return { drivers, supervisor };
}
