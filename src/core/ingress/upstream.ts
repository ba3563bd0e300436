// Where a rule's target port is reached on the host: user mode through the instance's loopback forward for that
// guest port, bridge mode at the guest's leased address.
import type { CoreContext } from "../service/context.ts";
import { DomainError } from "../errors.ts";
import { networkView } from "../network/network-view.ts";

export interface Upstream {
  host: string;
  port: number;
}

/** A target the ingress cannot reach however long it waits: a 502 naming what is missing. */
export const unreachable = (message: string) => new DomainError("bad_gateway", message, "upstream_unreachable");

export function upstreamOf(ctx: CoreContext, instanceId: string, guestPort: number): Upstream {
  const row = ctx.instances.get(instanceId);
  if (!row) throw unreachable("the target instance no longer exists");
  const net = networkView(ctx, row);
  if (!net.enabled) throw unreachable(`instance ${row.name} has networking disabled`);
  if (ctx.config.network.mode === "user") {
    const forward = net.forwards.find((f) => f.guestPort === guestPort);
    if (!forward) throw unreachable(`instance ${row.name} has no loopback forward for guest port ${guestPort} (network.port_forwards)`);
    return { host: "127.0.0.1", port: forward.hostPort };
  }
  if (!net.ip) throw unreachable(`instance ${row.name} holds no address`);
  return { host: net.ip, port: guestPort };
}
