// The auto_standby policy of an instance (reference-network §4.1): normalised once, on create and PATCH. Any
// violation is 400 `invalid_auto_standby`. A disabled policy keeps only `enabled: false`.
import type { AutoStandbyPolicy } from "../../store/schema.ts";
import { invalidRequest } from "../errors.ts";
import { cidrContains, formatCidr, parseCidr } from "./cidr.ts";
import type { CoreContext } from "../service/context.ts";
import { loadInstance, resolveInstance, type InstanceView } from "../instances/view.ts";

export interface AutoStandbyInput {
  enabled?: boolean;
  /** Already parsed from its Go duration. */
  idleTimeoutMs?: number;
  ignoreSourceCidrs?: string[];
  ignoreDestinationPorts?: number[];
}

const fail = (why: string) => invalidRequest(`auto_standby.${why}`, "invalid_auto_standby");

export function normalizeAutoStandby(input: AutoStandbyInput): AutoStandbyPolicy {
  if (!input.enabled) return { enabled: false, ignoreSourceCidrs: [], ignoreDestinationPorts: [] };
  if (input.idleTimeoutMs === undefined) throw fail("idle_timeout: required when enabled");
  if (!(input.idleTimeoutMs > 0)) throw fail("idle_timeout: must be greater than zero");
  const cidrs = (input.ignoreSourceCidrs ?? []).map((s, i) => {
    const c = parseCidr(s.trim());
    if (!c) throw fail(`ignore_source_cidrs[${i}]: ${JSON.stringify(s)} is not a CIDR (address/bits)`);
    return formatCidr(c);
  });
  const ports = input.ignoreDestinationPorts ?? [];
  ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw fail(`ignore_destination_ports[${i}]: must be 1-65535`);
  });
  return {
    enabled: true,
    idleTimeoutMs: input.idleTimeoutMs,
    ignoreSourceCidrs: [...new Set(cidrs)].sort(),
    ignoreDestinationPorts: [...new Set(ports)].sort((a, b) => a - b),
  };
}

/** Whether traffic from `clientIp` to guest port `port` keeps the instance awake under `policy`. */
export function countsAsActivity(policy: AutoStandbyPolicy | null, clientIp: string | undefined, port: number): boolean {
  if (!policy?.enabled) return true;
  if (policy.ignoreDestinationPorts.includes(port)) return false;
  return clientIp === undefined || !policy.ignoreSourceCidrs.some((c) => cidrContains(parseCidr(c)!, clientIp));
}

/** PATCH /instances/{id}: the policy replaces the whole previous one. */
export async function setAutoStandbyPolicy(ctx: CoreContext, ref: string, policy: AutoStandbyPolicy): Promise<InstanceView> {
  const { id } = resolveInstance(ctx, ref);
  return ctx.locks.run(id, async () => {
    ctx.instances.update(id, { autoStandby: policy });
    return loadInstance(ctx, id);
  });
}
