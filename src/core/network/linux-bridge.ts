// Bridge mode on Linux (reference-network §1.3): a managed bridge holding the gateway address, one TAP per VM as
// an isolated bridge port, tc rate limits from the instance's bandwidths, and NAT out through the uplink with
// nftables. Every command goes through host-commands.ts.
import { readFileSync } from "node:fs";
import type { NetworkLeaseRow, NetworkSettings } from "../../store/schema.ts";
import { formatIpv4, gatewayOf, overlaps, parseSubnet, type Subnet } from "./address-pool.ts";
import type { BridgeHost } from "./bridge-host.ts";
import type { HostCommands } from "./host-commands.ts";
import { TAP_PREFIX } from "./leases.ts";
import type { NetworkConfig } from "./network-config.ts";
import { notSupported } from "../errors.ts";

export class NetworkSetupError extends Error {
  override readonly name = "NetworkSetupError";
}

/** Token-bucket depth: a tenth of a second of traffic, at least 32 KiB (below the MTU's worth it would stall). */
const MIN_BURST_BYTES = 32 * 1024;

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  dev?: string;
}

const ipForwardOn = () => readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1";

export class LinuxBridge implements BridgeHost {
  private readonly subnet: Subnet;
  private readonly gatewayCidr: string;

  constructor(
    private readonly config: NetworkConfig,
    private readonly run: HostCommands,
    private readonly ipForward: () => boolean = ipForwardOn,
  ) {
    this.subnet = parseSubnet(config.subnet);
    this.gatewayCidr = `${formatIpv4(gatewayOf(this.subnet, config.gateway))}/${this.subnet.prefix}`;
  }

  async setup(): Promise<void> {
    const bridge = this.config.bridgeName;
    await this.refuseOverlappingRoutes();
    const addrs = await this.json<IpAddr[]>("ip", ["-j", "-4", "addr", "show", "dev", bridge]);
    if (addrs === null) {
      await this.run("ip", ["link", "add", "name", bridge, "type", "bridge"]);
      await this.run("ip", ["addr", "add", this.gatewayCidr, "dev", bridge]);
    } else {
      const have = (addrs[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
      const other = have.filter((a) => a !== this.gatewayCidr);
      if (other.length > 0) throw new NetworkSetupError(`bridge ${bridge} exists with address ${other.join(", ")}, not ${this.gatewayCidr}: remove it or configure network.bridgeName/subnet to match`);
      if (have.length === 0) await this.run("ip", ["addr", "add", this.gatewayCidr, "dev", bridge]);
    }
    await this.run("ip", ["link", "set", "dev", bridge, "up"]);
    await this.setupNat();
  }

  async ensureTap(lease: NetworkLeaseRow, settings: NetworkSettings): Promise<void> {
    const tap = lease.tap!;
    if ((await this.run("ip", ["link", "show", "dev", tap], { check: false })).exitCode === 0) return;
    await this.run("ip", ["tuntap", "add", "dev", tap, "mode", "tap"]);
    try {
      await this.run("ip", ["link", "set", "dev", tap, "master", this.config.bridgeName]);
      if (this.config.isolateGuests) await this.run("ip", ["link", "set", "dev", tap, "type", "bridge_slave", "isolated", "on"]);
      await this.run("ip", ["link", "set", "dev", tap, "up"]);
      // Download is what leaves the TAP towards the guest; upload is what the guest sends into it.
      if (settings.downloadBytesPerSec > 0) {
        const rate = settings.downloadBytesPerSec;
        await this.run("tc", ["qdisc", "replace", "dev", tap, "root", "tbf", "rate", `${rate * 8}bit`, "burst", String(burstOf(rate)), "latency", "100ms"]);
      }
      if (settings.uploadBytesPerSec > 0) await this.policeIngress(tap, settings.uploadBytesPerSec);
    } catch (err) {
      await this.removeTap(tap);
      throw err;
    }
  }

  /** A kernel without tc's police action (or the u32 classifier) cannot limit what a guest sends: refused, named. */
  private async policeIngress(tap: string, rate: number): Promise<void> {
    try {
      await this.run("tc", ["qdisc", "add", "dev", tap, "handle", "ffff:", "ingress"]);
      const police = ["action", "police", "rate", `${rate * 8}bit`, "burst", String(burstOf(rate)), "drop"];
      await this.run("tc", ["filter", "add", "dev", tap, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0", ...police]);
    } catch (err) {
      throw notSupported(`network.bandwidth_upload cannot be enforced on this host (tc police on the TAP's ingress failed): ${err instanceof Error ? err.message : err}`);
    }
  }

  async removeTap(tap: string): Promise<void> {
    const r = await this.run("ip", ["link", "del", "dev", tap], { check: false });
    if (r.exitCode !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
      throw new NetworkSetupError(`remove TAP ${tap}: ${r.stderr.trim()}`);
    }
  }

  async taps(): Promise<string[]> {
    const links = (await this.json<{ ifname: string }[]>("ip", ["-j", "link", "show", "master", this.config.bridgeName])) ?? [];
    return links.map((l) => l.ifname).filter((name) => name.startsWith(TAP_PREFIX));
  }

  /** A subnet that overlaps a route of another interface would make guests shadow (or be shadowed by) real hosts. */
  private async refuseOverlappingRoutes(): Promise<void> {
    const routes = (await this.json<IpRoute[]>("ip", ["-j", "-4", "route", "show"])) ?? [];
    for (const route of routes) {
      if (route.dst === "default" || route.dev === this.config.bridgeName) continue;
      const dst = parseSubnet(route.dst.includes("/") ? route.dst : `${route.dst}/32`);
      if (overlaps(dst, this.subnet)) {
        throw new NetworkSetupError(`network.subnet ${this.config.subnet} overlaps the host route ${route.dst} on ${route.dev ?? "?"}: pick another subnet`);
      }
    }
  }

  /** One nftables table per bridge, replaced whole at every start (no duplicate rules, nothing left stale). */
  private async setupNat(): Promise<void> {
    const table = `snapvisor_${this.config.bridgeName.replaceAll("-", "_")}`;
    await this.run("nft", ["delete", "table", "ip", table], { check: false });
    const { uplink, bridgeName: bridge } = this.config;
    if (!this.config.nat || !uplink) return;
    if (!this.ipForward()) {
      throw new NetworkSetupError(`NAT through ${uplink} needs net.ipv4.ip_forward=1 (sysctl -w net.ipv4.ip_forward=1), or set network.nat to false`);
    }
    const subnet = `${formatIpv4(this.subnet.base)}/${this.subnet.prefix}`;
    const ruleset = [
      `table ip ${table} {`,
      `  chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr ${subnet} oifname "${uplink}" masquerade; }`,
      `  chain forward { type filter hook forward priority filter; policy accept;`,
      `    iifname "${bridge}" oifname "${uplink}" accept;`,
      `    iifname "${uplink}" oifname "${bridge}" ct state established,related accept;`,
      `    iifname "${uplink}" oifname "${bridge}" drop; }`,
      `}`,
    ].join("\n");
    await this.run("nft", ["-f", "-"], { stdin: ruleset });
  }

  /** Parsed `-j` output; null when the command fails (the device does not exist). */
  private async json<T>(tool: "ip", args: string[]): Promise<T | null> {
    const r = await this.run(tool, args, { check: false });
    if (r.exitCode !== 0) return null;
    return (r.stdout.trim() ? JSON.parse(r.stdout) : []) as T;
  }
}

function burstOf(bytesPerSec: number): number {
  return Math.max(MIN_BURST_BYTES, Math.ceil(bytesPerSec / 10));
}
