// Bridge mode with real guests, all inside a network namespace this file creates (and deletes afterwards, also on
// failure): the snapvisor server runs in it (test/fixtures/serve-unix.ts, reached through its Unix socket), so the
// bridge, TAPs, nftables rules and guests exist only there. The uplink is a veth pair whose both ends stay in the
// namespace: nothing is routed anywhere. Host-side requests to guests run in the namespace too (`ip netns exec curl`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage } from "../harness.ts";
import { startChildServer, type ChildProcess } from "../child-server.ts";
import { vmmProcesses } from "./guest.ts";
import { callUnixApi } from "../unix-api.ts";

const NS = `sv-test-${randomBytes(4).toString("hex")}`;
const SUBNET = "10.203.0.0/24";
const GATEWAY = "10.203.0.1";
const BRIDGE = "svtbr0";
const NETWORK = { mode: "bridge", bridgeName: BRIDGE, subnet: SUBNET, uplink: "svup0", nat: true, isolateGuests: true };
const GUEST_PORT = 8080;
const HTTP_TRIES = 30;
/** A client address on the uplink, outside the bridge's subnet. */
const CLIENT_IP = "192.0.2.10";

const canNetns = process.getuid?.() === 0 && Bun.spawnSync(["ip", "netns", "list"]).exitCode === 0 && Bun.which("nft") !== null;
let dataDir: string;
let server: ChildProcess | undefined;

function inNs(argv: string[]): { exitCode: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["ip", "netns", "exec", NS, ...argv], { timeout: 15_000 });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function nsOrThrow(argv: string[]): string {
  const r = inNs(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} in ${NS}: ${r.stderr}`);
  return r.stdout;
}

/** Starts the fixture in the namespace; resolves with its first line ("ready" or the start-up error). */
async function startServer(network: object = NETWORK): Promise<string> {
  const { child, line } = await startChildServer(dataDir, { network, prefix: ["ip", "netns", "exec", NS] });
  if (line === "ready") server = child;
  else await child.exited;
  return line;
}

const call = (method: string, path: string, body?: unknown) => callUnixApi(join(dataDir, "api.sock"), method, path, body);

async function exec(ref: string, command: string): Promise<{ exit_code: number; stdout: string; stderr: string }> {
  const res = await call("POST", `/instances/${ref}/exec`, { command });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function boot(name: string, network: object = {}): Promise<any> {
  const created = await call("POST", "/instances", { name, size: "256MB", overlay_size: "128MB", network });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const started = await call("POST", `/instances/${name}/start`, {});
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return started.body;
}

async function serve(ref: string, text: string): Promise<void> {
  const r = await exec(ref, `mkdir -p /www && echo ${text} >/www/index.html && (pidof httpd >/dev/null || httpd -p ${GUEST_PORT} -h /www)`);
  expect(r.exit_code, r.stderr).toBe(0);
}

/** GET from the namespace (the guests' host side), bounded in tries and time. */
async function httpFromHost(ip: string): Promise<string> {
  expect(ip.startsWith("10.203.0.")).toBe(true);
  let last = "";
  for (let i = 0; i < HTTP_TRIES; i++) {
    const r = inNs(["curl", "-s", "--max-time", "3", `http://${ip}:${GUEST_PORT}/`]);
    if (r.exitCode === 0) return r.stdout;
    last = `curl exit ${r.exitCode}`;
    await Bun.sleep(300);
  }
  throw new Error(`no answer from ${ip}: ${last}`);
}

const tapExists = (tap: string) => inNs(["ip", "link", "show", "dev", tap]).exitCode === 0;
const tapOf = (id: string) => `sv-${id.slice(0, 12)}`;

async function stopServer(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  if (!server) return;
  server.kill(signal);
  await Promise.race([server.exited, Bun.sleep(60_000)]);
  server = undefined;
}

beforeAll(async () => {
  if (!canNetns) return;
  await ensureGuestImage();
  dataDir = mkdtempSync(join(tmpdir(), "sv-br-"));
  Bun.spawnSync(["ip", "netns", "add", NS]);
  nsOrThrow(["ip", "link", "set", "lo", "up"]);
  nsOrThrow(["ip", "link", "add", "svup0", "type", "veth", "peer", "name", "svup1"]); // both ends stay in the namespace
  nsOrThrow(["ip", "link", "set", "svup0", "up"]);
});

afterAll(async () => {
  if (!canNetns) return;
  await stopServer("SIGTERM").catch(() => {});
  for (const pid of vmmProcesses(dataDir)) process.kill(pid, "SIGKILL");
  Bun.spawnSync(["ip", "netns", "del", NS]);
  rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!canNetns)("bridge mode in a private network namespace", () => {
  test("start-up refuses NAT without ip_forward, and a subnet overlapping a host route", async () => {
    nsOrThrow(["sh", "-c", "echo 0 >/proc/sys/net/ipv4/ip_forward"]);
    expect(await startServer()).toContain("net.ipv4.ip_forward=1");
    nsOrThrow(["ip", "addr", "add", "10.203.0.0/16", "dev", "svup0"]);
    expect(await startServer()).toMatch(/overlaps the host route 10\.203\.0\.0\/16/);
    nsOrThrow(["ip", "addr", "del", "10.203.0.0/16", "dev", "svup0"]);
    nsOrThrow(["sh", "-c", "echo 1 >/proc/sys/net/ipv4/ip_forward"]);
    expect(await startServer()).toBe("ready");
    expect(nsOrThrow(["ip", "-4", "addr", "show", "dev", BRIDGE])).toContain(`${GATEWAY}/24`);
    expect(nsOrThrow(["nft", "list", "table", "ip", "snapvisor_svtbr0"])).toContain("masquerade");
    const caps = await call("GET", "/capabilities");
    expect(caps.body.network).toMatchObject({ mode: "bridge", model: "bridge", gateway: GATEWAY, subnet: SUBNET, guest_to_guest: false });
  });

  test("two guests: distinct addresses in the subnet, each reaches the gateway, not each other; httpd answers from the host", async () => {
    const a = await boot("br-a");
    const b = await boot("br-b");
    expect(a.network.ip).not.toBe(b.network.ip);
    for (const g of [a, b]) {
      expect(g.network.ip).toMatch(/^10\.203\.0\.\d+$/);
      expect(tapExists(tapOf(g.id))).toBe(true);
      expect((await exec(g.name, `ping -c 1 -W 3 ${GATEWAY}`)).exit_code).toBe(0);
      expect((await exec(g.name, "cat /sys/class/net/eth0/address")).stdout.trim()).toBe(g.network.mac);
      await serve(g.name, g.name);
      expect(await httpFromHost(g.network.ip)).toBe(`${g.name}\n`);
    }
    // Isolated bridge ports: no L2 path between guests.
    expect((await exec("br-a", `ping -c 1 -W 2 ${b.network.ip}`)).exit_code).not.toBe(0);
  });

  test("standby/restore keeps the address, and the listener answers after the restore", async () => {
    const before = (await call("GET", "/instances/br-a")).body;
    expect((await call("POST", "/instances/br-a/standby", {})).status).toBe(200);
    expect(tapExists(tapOf(before.id))).toBe(false); // no TAP while nothing runs
    const restored = await call("POST", "/instances/br-a/restore", {});
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body.network.ip).toBe(before.network.ip);
    expect(await httpFromHost(before.network.ip)).toBe("br-a\n");
  });

  test("auto-standby sees direct traffic through conntrack: an open connection from a client address keeps the guest awake", async () => {
    const ip = (await call("GET", "/instances/br-a")).body.network.ip;
    const policy = await call("PATCH", "/instances/br-a", { auto_standby: { enabled: true, idle_timeout: "2s" } });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    // A second address on the uplink stands for a client elsewhere (the host's own bridge address is the ingress's).
    nsOrThrow(["ip", "addr", "add", `${CLIENT_IP}/32`, "dev", "svup0"]);
    const script = `import socket,time\ns=socket.socket()\ns.bind(("${CLIENT_IP}",0))\ns.connect(("${ip}",${GUEST_PORT}))\nprint("open",flush=True)\ntime.sleep(50)`;
    const client = Bun.spawn(["ip", "netns", "exec", NS, "python3", "-c", script], { stdout: "pipe", stderr: "inherit" });
    try {
      const reader = client.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value).trim()).toBe("open");
      await Bun.sleep(5_000); // well past the idle timeout
      expect((await call("GET", "/instances/br-a")).body.state).toBe("Running");
      const status = (await call("GET", "/instances/br-a/auto-standby/status")).body;
      expect(status).toMatchObject({ status: "active", tracking_mode: "ingress_agent_and_conntrack" });
      expect(status.active_inbound_connections).toBeGreaterThanOrEqual(1);
    } finally {
      client.kill("SIGKILL");
      await client.exited;
    }
    // Once the connection is gone, nothing keeps it awake (bounded: 300 polls of 100 ms).
    let state = "";
    for (let i = 0; i < 300 && state !== "Standby"; i++, await Bun.sleep(100)) state = (await call("GET", "/instances/br-a")).body.state;
    expect(state).toBe("Standby");
    expect((await call("PATCH", "/instances/br-a", { auto_standby: { enabled: false } })).status).toBe(200);
    expect((await call("POST", "/instances/br-a/restore", {})).status).toBe(200);
  });

  test("two forks of one snapshot each answer on their own new IP and MAC while the source keeps its own", async () => {
    const source = (await call("GET", "/instances/br-a")).body;
    const snap = await call("POST", "/instances/br-a/snapshots", { kind: "Standby", name: "br-base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    const forks = [];
    for (const name of ["br-f1", "br-f2"]) {
      const res = await call("POST", `/snapshots/${snap.body.id}/fork`, { name, target_state: "Running" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      forks.push(res.body);
    }
    const all = [source, ...forks];
    expect(new Set(all.map((i) => i.network.ip)).size).toBe(3);
    expect(new Set(all.map((i) => i.network.mac)).size).toBe(3);
    for (const fork of forks) {
      expect((await exec(fork.name, "cat /sys/class/net/eth0/address")).stdout.trim()).toBe(fork.network.mac);
      expect((await exec(fork.name, "ip -4 -o addr show dev eth0")).stdout).toContain(`${fork.network.ip}/24`);
      expect((await exec(fork.name, "hostname")).stdout.trim()).toBe(fork.name);
      await serve(fork.name, fork.name);
      expect(await httpFromHost(fork.network.ip)).toBe(`${fork.name}\n`);
    }
    expect(await httpFromHost(source.network.ip)).toBe("br-a\n");
  });

  test("delete releases the IP and the TAP", async () => {
    const fork = (await call("GET", "/instances/br-f2")).body;
    expect((await call("DELETE", "/instances/br-f2")).status).toBe(204);
    expect(tapExists(tapOf(fork.id))).toBe(false);
    const again = await boot("br-c", { bandwidth_download: "80Mbps" });
    // Its TAP carries the limit: a token bucket towards the guest.
    expect(nsOrThrow(["tc", "qdisc", "show", "dev", tapOf(again.id)])).toMatch(/tbf .*rate 80Mbit/);
    // An upload limit needs tc's police action: enforced where the kernel has it, else the start is refused by name.
    const up = (await call("POST", "/instances", { name: "br-up", size: "256MB", overlay_size: "128MB", network: { bandwidth_upload: "1MB/s" } })).body;
    const started = await call("POST", "/instances/br-up/start", {});
    if (started.status === 200) {
      expect(nsOrThrow(["tc", "filter", "show", "dev", tapOf(up.id), "ingress"])).toContain("police");
      expect((await call("POST", "/instances/br-up/stop", {})).status).toBe(200);
    } else {
      expect(started.status).toBe(501);
      expect(started.body.message).toContain("network.bandwidth_upload cannot be enforced");
      expect(tapExists(tapOf(up.id))).toBe(false);
    }
    expect((await call("GET", "/instances/br-up")).body.network.ip).toBeUndefined(); // no lease left either way
    const ips = ((await call("GET", "/instances")).body as any[]).flatMap((i) => (i.network.ip ? [i.network.ip] : []));
    expect(new Set(ips).size).toBe(ips.length);
    expect(again.network.ip).toMatch(/^10\.203\.0\.\d+$/);
  });

  test("after a kill -9 of the server, the restarted one keeps every running guest's address and hands out no duplicate", async () => {
    const before = ((await call("GET", "/instances")).body as any[]).filter((i) => i.state === "Running");
    await stopServer("SIGKILL");
    expect(await startServer()).toBe("ready");
    const after = (await call("GET", "/instances")).body as any[];
    for (const b of before) {
      const a = after.find((i) => i.id === b.id);
      expect({ name: a.name, state: a.state, ip: a.network.ip }).toEqual({ name: b.name, state: "Running", ip: b.network.ip });
    }
    const fresh = await boot("br-d");
    const ips = ((await call("GET", "/instances")).body as any[]).flatMap((i) => (i.network.ip ? [i.network.ip] : []));
    expect(ips).toContain(fresh.network.ip);
    expect(new Set(ips).size).toBe(ips.length);
    expect(await httpFromHost(before[0].network.ip)).toBeDefined();
  });
});
