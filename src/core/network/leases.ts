// Network leases: the IP, MAC, TAP and loopback forwards of an instance whose VM exists. Taken when a VM is about
// to run without one (boot; a fork's first resume), kept through standby (a restore continues with the same
// identity), released on stop and delete. Bridge mode also creates and removes the TAP on the host.
import type { NetworkAttachment } from "../../hv/hypervisor.ts";
import type { InstanceRow, NetworkLeaseRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { inStep, insufficientResources } from "../errors.ts";
import { formatIpv4, gatewayOf, macFrom, parseIpv4, parseSubnet, pickAddress } from "./address-pool.ts";
import { freeLoopbackPort } from "./loopback-ports.ts";

/** Slirp's fixed layout: each user-mode guest sits alone behind its own NAT. */
export const USER_MODE_GUEST = { ip: "10.0.2.15", prefix: 24, gateway: "10.0.2.2", dns: "10.0.2.3" } as const;

/** What the guest configures on eth0. */
export interface GuestNetwork {
  mac: string;
  ip: string;
  prefix: number;
  gateway: string;
  dns: string;
}

/** Unique-index collisions (a random MAC or address taken in between) are retried this often. */
const ALLOCATION_ATTEMPTS = 5;

/** TAP names: `sv-` + the id's first 12 characters (interface names hold 15). */
export const TAP_PREFIX = "sv-";
export const tapName = (instanceId: string): string => `${TAP_PREFIX}${instanceId.slice(0, 12)}`;

/** The instance's attachment, taking a lease when it holds none; undefined for an instance without network. */
export async function acquireNetwork(ctx: CoreContext, row: InstanceRow): Promise<{ attachment: NetworkAttachment; fresh: boolean } | undefined> {
  if (!row.network?.enabled) return undefined;
  const held = ctx.networkLeases.lease(row.id);
  if (held) {
    await ctx.bridge?.ensureTap(held, row.network);
    return { attachment: attachmentOf(ctx, held), fresh: false };
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
    const lease = newLease(ctx, row);
    const forwards = lease.mode === "user" ? await forwardsFor(ctx, row.network.guestPorts) : [];
    try {
      ctx.networkLeases.insert(lease, forwards);
    } catch (err) {
      lastError = err;
      continue;
    }
    ctx.logger.info("network lease taken", { instance: row.id, mode: lease.mode, ip: lease.ip, mac: lease.mac, tap: lease.tap });
    try {
      await ctx.bridge?.ensureTap(lease, row.network);
    } catch (err) {
      await releaseNetwork(ctx, row.id);
      throw inStep("create TAP", err);
    }
    return { attachment: attachmentOf(ctx, lease), fresh: true };
  }
  throw inStep("allocate network", lastError);
}

/** Drops the lease (and the TAP in bridge mode); nothing happens for an instance without one. */
export async function releaseNetwork(ctx: CoreContext, instanceId: string): Promise<void> {
  const lease = ctx.networkLeases.lease(instanceId);
  if (!lease) return;
  if (lease.tap) await ctx.bridge?.removeTap(lease.tap);
  ctx.networkLeases.release(instanceId);
  ctx.logger.info("network lease released", { instance: instanceId, ip: lease.ip, mac: lease.mac, tap: lease.tap });
}

/** The standby payload keeps the VM's TAP in its saved config, but the TAP itself is gone until the restore. */
export async function parkNetwork(ctx: CoreContext, instanceId: string): Promise<void> {
  const tap = ctx.networkLeases.lease(instanceId)?.tap;
  if (tap) await ctx.bridge?.removeTap(tap);
}

export function guestNetworkOf(ctx: CoreContext, lease: NetworkLeaseRow): GuestNetwork {
  if (lease.mode === "user") return { mac: lease.mac, ...USER_MODE_GUEST };
  const net = ctx.config.network;
  const subnet = parseSubnet(net.subnet);
  return { mac: lease.mac, ip: lease.ip!, prefix: subnet.prefix, gateway: formatIpv4(gatewayOf(subnet, net.gateway)), dns: net.dns };
}

function attachmentOf(ctx: CoreContext, lease: NetworkLeaseRow): NetworkAttachment {
  if (lease.mode === "bridge") return { mode: "bridge", mac: lease.mac, tap: lease.tap! };
  const forwards = ctx.networkLeases.forwards(lease.instanceId).map((f) => ({ guestPort: f.guestPort, hostPort: f.hostPort }));
  return { mode: "user", mac: lease.mac, forwards };
}

function newLease(ctx: CoreContext, row: InstanceRow) {
  const base = { instanceId: row.id, mac: macFrom(ctx.randomBytes(5)), createdAt: ctx.clock() };
  const net = ctx.config.network;
  if (net.mode === "user") return { ...base, mode: "user" as const, ip: null, tap: null };
  const subnet = parseSubnet(net.subnet);
  const taken = new Set(ctx.networkLeases.leases().flatMap((l) => (l.ip ? [parseIpv4(l.ip)] : [])));
  const ip = pickAddress(subnet, gatewayOf(subnet, net.gateway), taken, ctx.randomBytes(4).reduce((n, b) => n * 256 + b, 0) / 2 ** 32);
  if (ip === null) throw insufficientResources(`no free address left in ${net.subnet}`);
  return { ...base, mode: "bridge" as const, ip: formatIpv4(ip), tap: tapName(row.id) };
}

async function forwardsFor(ctx: CoreContext, guestPorts: number[]): Promise<{ guestPort: number; hostPort: number }[]> {
  const used = ctx.networkLeases.usedHostPorts();
  const forwards = [];
  for (const guestPort of guestPorts) {
    const hostPort = await freeLoopbackPort(used);
    used.add(hostPort);
    forwards.push({ guestPort, hostPort });
  }
  return forwards;
}
