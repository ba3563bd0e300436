// Which driver serves a hypervisor type on this host, and the guest-dir paths it uses.
import { join } from "node:path";
import { HYPERVISOR_TYPES, type Capabilities, type Hypervisor, type HypervisorType } from "../../hv/hypervisor.ts";
import type { CoreContext } from "./context.ts";
import { invalidRequest, notSupported } from "../errors.ts";

export function isHypervisorType(value: string): value is HypervisorType {
  return (HYPERVISOR_TYPES as readonly string[]).includes(value);
}

export function hypervisorFor(ctx: CoreContext, type: string): Hypervisor {
  if (!isHypervisorType(type)) throw invalidRequest(`unsupported hypervisor ${JSON.stringify(type)}`);
  const hv = ctx.hypervisors[type];
  if (hv) return hv;
  if (type === "vz") throw notSupported("hypervisor vz needs macOS (Virtualization.framework) and is not available on Linux hosts");
  throw notSupported(`hypervisor ${type} is not available on this host`);
}

/** Refuses, before any side effect, what the driver's capabilities say it cannot do (501, like the driver would). */
export function requireCapabilities(hv: Hypervisor, needs: (keyof Capabilities)[], operation: string): void {
  const missing = needs.filter((capability) => !hv.capabilities[capability]);
  if (missing.length > 0) throw notSupported(`hypervisor ${hv.type} cannot ${operation} (no ${missing.join(", ")} support)`);
}

export function agentSocketPath(hv: Hypervisor, dir: string): string | undefined {
  const rel = hv.layout().agentSocket;
  return rel === undefined ? undefined : join(dir, rel);
}
