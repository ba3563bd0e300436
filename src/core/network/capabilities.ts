// GET /capabilities: the network model this server offers (reference-network §1.1 `network`), and which of the
// host's hypervisors can attach it.
import type { HypervisorType } from "../../hv/hypervisor.ts";
import type { CoreContext } from "../service/context.ts";
import { USER_MODE_GUEST } from "./leases.ts";
import { formatIpv4, gatewayOf, parseSubnet } from "./address-pool.ts";

export interface NetworkCapabilities {
  mode: "user" | "bridge";
  /** `nat`: each guest behind its own user-mode NAT; `bridge`: guests on a managed bridge. */
  model: "nat" | "bridge";
  gateway: string;
  subnet: string;
  guestToGuest: boolean;
  portForwards: boolean;
  hypervisors: HypervisorType[];
}

export function networkCapabilities(ctx: CoreContext): NetworkCapabilities {
  const net = ctx.config.network;
  const hypervisors = Object.values(ctx.hypervisors).flatMap((hv) => (hv && hv.capabilities.networkModes.includes(net.mode) ? [hv.type] : []));
  if (net.mode === "user") {
    return { mode: "user", model: "nat", gateway: USER_MODE_GUEST.gateway, subnet: "10.0.2.0/24", guestToGuest: false, portForwards: true, hypervisors };
  }
  const subnet = parseSubnet(net.subnet);
  return {
    mode: "bridge",
    model: "bridge",
    gateway: formatIpv4(gatewayOf(subnet, net.gateway)),
    subnet: `${formatIpv4(subnet.base)}/${subnet.prefix}`,
    guestToGuest: !net.isolateGuests,
    portForwards: false,
    hypervisors,
  };
}
