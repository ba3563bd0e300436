// LinuxBridge against a scripted command runner: which commands it would run, and what it refuses. Nothing here
// touches the host (the namespace test in test/integration/network-bridge.test.ts runs the real tools).
import { describe, expect, test } from "bun:test";
import type { NetworkLeaseRow } from "../../store/schema.ts";
import type { HostCommands, HostNetworkTool } from "./host-commands.ts";
import { LinuxBridge, NetworkSetupError } from "./linux-bridge.ts";
import { NetworkConfigSchema } from "./network-config.ts";

type Reply = { stdout?: string; exitCode?: number; stderr?: string };

function scripted(replies: (argv: string) => Reply | undefined): { run: HostCommands; log: string[] } {
  const log: string[] = [];
  const run: HostCommands = async (tool: HostNetworkTool, args, opts = {}) => {
    const argv = [tool, ...args].join(" ");
    log.push(opts.stdin ? `${argv} <<${opts.stdin}` : argv);
    const r = { stdout: "", stderr: "", exitCode: 0, ...replies(argv) };
    if (r.exitCode !== 0 && opts.check !== false) throw new Error(`${argv} failed`);
    return r;
  };
  return { run, log };
}

const config = NetworkConfigSchema.parse({ mode: "bridge", bridgeName: "br9", subnet: "10.9.0.0/24", uplink: "up0" });
const lease: NetworkLeaseRow = { instanceId: "abcdefghijklmnop", mode: "bridge", ip: "10.9.0.7", mac: "02:00:00:00:00:07", tap: "sv-abcdefghijkl", createdAt: new Date(0) };
const noBridge = (argv: string): Reply | undefined => (argv.startsWith("ip -j -4 addr show") || argv.startsWith("ip link show") ? { exitCode: 1 } : undefined);

describe("setup", () => {
  test("creates the bridge with the gateway address and installs NAT when an uplink is set", async () => {
    const { run, log } = scripted((a) => (a === "ip -j -4 route show" ? { stdout: '[{"dst":"default","dev":"eth0"},{"dst":"192.168.1.0/24","dev":"eth0"}]' } : noBridge(a)));
    await new LinuxBridge(config, run, () => true).setup();
    expect(log).toContain("ip link add name br9 type bridge");
    expect(log).toContain("ip addr add 10.9.0.1/24 dev br9");
    expect(log.find((l) => l.startsWith("nft -f -"))).toContain('ip saddr 10.9.0.0/24 oifname "up0" masquerade');
  });

  test("refuses an overlapping route, a bridge with another address, NAT without ip_forward", async () => {
    const overlap = scripted((a) => (a === "ip -j -4 route show" ? { stdout: '[{"dst":"10.9.0.128/25","dev":"eth1"}]' } : noBridge(a)));
    await expect(new LinuxBridge(config, overlap.run, () => true).setup()).rejects.toThrow(/overlaps the host route 10\.9\.0\.128\/25 on eth1/);
    const taken = scripted((a) =>
      a === "ip -j -4 route show" ? { stdout: "[]" } : a.startsWith("ip -j -4 addr show") ? { stdout: '[{"ifname":"br9","addr_info":[{"family":"inet","local":"172.16.0.1","prefixlen":16}]}]' } : undefined,
    );
    await expect(new LinuxBridge(config, taken.run, () => true).setup()).rejects.toThrow(/br9 exists with address 172\.16\.0\.1\/16/);
    const noForward = scripted((a) => (a === "ip -j -4 route show" ? { stdout: "[]" } : noBridge(a)));
    await expect(new LinuxBridge(config, noForward.run, () => false).setup()).rejects.toThrow(NetworkSetupError);
  });
});

test("a TAP is an isolated bridge port with the instance's rate limits (download on egress, upload policed on ingress)", async () => {
  const { run, log } = scripted(noBridge);
  await new LinuxBridge(config, run, () => true).ensureTap(lease, { enabled: true, downloadBytesPerSec: 1_000_000, uploadBytesPerSec: 125_000, guestPorts: [] });
  expect(log).toEqual([
    "ip link show dev sv-abcdefghijkl",
    "ip tuntap add dev sv-abcdefghijkl mode tap",
    "ip link set dev sv-abcdefghijkl master br9",
    "ip link set dev sv-abcdefghijkl type bridge_slave isolated on",
    "ip link set dev sv-abcdefghijkl up",
    "tc qdisc replace dev sv-abcdefghijkl root tbf rate 8000000bit burst 100000 latency 100ms",
    "tc qdisc add dev sv-abcdefghijkl handle ffff: ingress",
    "tc filter add dev sv-abcdefghijkl parent ffff: protocol all u32 match u32 0 0 action police rate 1000000bit burst 32768 drop",
  ]);
});

test("a kernel that cannot police ingress refuses the upload limit by its field name, and the TAP is removed", async () => {
  const { run, log } = scripted((a) => (a.includes("action police") ? { exitCode: 2, stderr: "Failed to load TC action module." } : noBridge(a)));
  const bridge = new LinuxBridge(config, run, () => true);
  const settings = { enabled: true, downloadBytesPerSec: 0, uploadBytesPerSec: 125_000, guestPorts: [] };
  await expect(bridge.ensureTap(lease, settings)).rejects.toThrow(/network\.bandwidth_upload cannot be enforced/);
  expect(log.at(-1)).toBe("ip link del dev sv-abcdefghijkl");
});
