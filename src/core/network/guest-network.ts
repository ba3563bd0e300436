// How the guest learns its network: at boot from kernel command-line words that the default image's init reads
// (sv.ip=, sv.gw=, sv.dns=, sv.hostname=); after a fork's resume from a script the guest agent runs, since the
// guest resumes configured as its source.
import { shellQuote } from "../../hv/shell-quote.ts";
import type { GuestNetwork } from "./leases.ts";

export const GUEST_INTERFACE = "eth0";

export function bootCmdlineWords(net: GuestNetwork | undefined, hostname: string): string[] {
  const words = [`sv.hostname=${hostname}`];
  if (net) words.push(`sv.ip=${net.ip}/${net.prefix}`, `sv.gw=${net.gateway}`, `sv.dns=${net.dns}`);
  return words;
}

/** A MAC change alone, made live (virtio-net takes a new address without the link going down): for a guest whose
 * addressing stays the same. */
export function macChangeScript(mac: string): string {
  return `ip link set dev ${shellQuote(GUEST_INTERFACE)} address ${shellQuote(mac)}`;
}

/**
 * The reference's order (link down, MAC, flush, address, link up, default route, neighbours flushed), stopping at
 * the first failing step; resolv.conf last. Every value is quoted: none reaches the guest's shell as syntax.
 */
export function reconfigureScript(net: GuestNetwork): string {
  const dev = shellQuote(GUEST_INTERFACE);
  return [
    `ip link set dev ${dev} down`,
    macChangeScript(net.mac),
    `ip -4 addr flush dev ${dev}`,
    `ip addr add ${shellQuote(`${net.ip}/${net.prefix}`)} dev ${dev}`,
    `ip link set dev ${dev} up`,
    `ip route replace default via ${shellQuote(net.gateway)} dev ${dev}`,
    `ip neigh flush dev ${dev}`,
    `echo ${shellQuote(`nameserver ${net.dns}`)} >/etc/resolv.conf`,
  ].join(" && ");
}
