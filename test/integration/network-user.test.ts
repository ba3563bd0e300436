// User-mode networking with real guests (QEMU slirp): every byte goes through host loopback. A guest reaches its
// gateway (a server of this test on 127.0.0.1), busybox httpd in the guest answers through the instance's
// forward, standby/restore keeps the forward and the listener, and forks of one snapshot come up with their own
// MAC, forwards, hostname and generation id (handoffs) while the source keeps its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootGuest, exec, vmmProcesses, withGuestService } from "./guest.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

const GUEST_PORT = 8080;
/** Each try is bounded; slirp forwards can answer a moment after the guest's listener starts. */
const HTTP_TRIES = 40;

let host: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  host = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the gateway") });
});
afterAll(() => host.stop(true));

async function httpGet(hostPort: string): Promise<string> {
  expect(hostPort).toMatch(/^127\.0\.0\.1:\d+$/); // loopback only
  let last: unknown;
  for (let i = 0; i < HTTP_TRIES; i++) {
    try {
      const res = await fetch(`http://${hostPort}/`, { signal: AbortSignal.timeout(3_000) });
      return await res.text();
    } catch (err) {
      last = err;
      await Bun.sleep(250);
    }
  }
  throw new Error(`no answer from ${hostPort}: ${last}`);
}

async function serveName(ref: string, text: string): Promise<void> {
  const r = await exec(svc, ref, `mkdir -p /www && echo ${text} >/www/index.html && (pidof httpd >/dev/null || httpd -p ${GUEST_PORT} -h /www)`);
  expect(r.exit_code, r.stderr).toBe(0);
}

/** The guest asks the test's server through slirp's gateway (busybox-static's wget crashes on this image: nc). */
async function gatewayAnswer(ref: string): Promise<string> {
  return (await exec(svc, ref, `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 10.0.2.2 ${host.port}`)).stdout;
}

const get = async (ref: string) => (await svc.call("GET", `/instances/${ref}`)).body;
const forwardOf = (instance: any): string => instance.network.port_forwards.find((f: any) => f.guest_port === GUEST_PORT).host;
const guestMac = async (ref: string) => (await exec(svc, ref, "cat /sys/class/net/eth0/address")).stdout.trim();
const generationId = (id: string) => svc.sv.core.vms.get(id)!.vm.generationId!();

describe("user mode", () => {
  test("a guest gets slirp's address, reaches its gateway, and its httpd answers through its loopback forward", async () => {
    const { id } = await bootGuest(svc, "web", { network: { port_forwards: [{ guest_port: GUEST_PORT }] } });
    const web = await get(id);
    expect(web.network).toMatchObject({ enabled: true, name: "default", ip: "10.0.2.15" });
    expect(web.network.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(await guestMac("web")).toBe(web.network.mac);
    expect((await exec(svc, "web", "ip -4 addr show dev eth0")).stdout).toContain("10.0.2.15/24");
    expect((await exec(svc, "web", "hostname")).stdout.trim()).toBe("web");

    expect(await gatewayAnswer("web")).toContain("hello from the gateway");

    await serveName("web", "source");
    expect(await httpGet(forwardOf(web))).toBe("source\n");
  });

  test("standby and restore keep the forward, and the guest's listener answers after the restore", async () => {
    const before = await get("web");
    expect((await svc.call("POST", "/instances/web/standby", {})).status).toBe(200);
    const standby = await get("web");
    expect(standby.state).toBe("Standby");
    expect(forwardOf(standby)).toBe(forwardOf(before)); // the lease is kept through standby
    const restored = await svc.call("POST", "/instances/web/restore", {});
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body.network).toEqual(before.network);
    expect(await httpGet(forwardOf(restored.body))).toBe("source\n");
  });

  test("two forks of one snapshot: own MAC, forwards, hostname and generation id; the source keeps its own", async () => {
    const source = await get("web");
    const snap = await svc.call("POST", "/instances/web/snapshots", { kind: "Standby", name: "net-base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    const forks = [];
    for (const name of ["fork-a", "fork-b"]) {
      const res = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name, target_state: "Running" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.state).toBe("Running");
      forks.push(res.body);
    }
    const all = [source, ...forks];
    expect(new Set(all.map((i) => i.network.mac)).size).toBe(3);
    expect(new Set(all.map(forwardOf)).size).toBe(3);
    const generations = await Promise.all(all.map((i) => generationId(i.id)));
    expect(new Set(generations).size).toBe(3);

    for (const fork of forks) {
      expect(await guestMac(fork.name)).toBe(fork.network.mac);
      expect((await exec(svc, fork.name, "hostname")).stdout.trim()).toBe(fork.name);
      // The httpd the snapshot captured runs on in each fork; each answers with what that fork serves.
      await serveName(fork.name, fork.name);
      expect(await httpGet(forwardOf(fork))).toBe(`${fork.name}\n`);
      expect(await gatewayAnswer(fork.name)).toContain("hello from the gateway");
    }
    expect(await guestMac("web")).toBe(source.network.mac);
    expect(await httpGet(forwardOf(source))).toBe("source\n");
    expect((await exec(svc, "web", "hostname")).stdout.trim()).toBe("web");
  });

  test("delete releases the lease and the forward's host port", async () => {
    const fork = await get("fork-b");
    expect(svc.sv.core.networkLeases.lease(fork.id)).toBeDefined();
    expect((await svc.call("DELETE", "/instances/fork-b")).status).toBe(204);
    expect(svc.sv.core.networkLeases.lease(fork.id)).toBeUndefined();
    expect(svc.sv.core.networkLeases.usedHostPorts().has(Number(forwardOf(fork).split(":")[1]))).toBe(false);
    const stopped = await svc.call("POST", "/instances/fork-a/stop", {});
    expect(stopped.body.network).toEqual({ enabled: true, name: "default", port_forwards: [] });
  });

  test("a fork whose network handoff fails is removed completely, and the error names the step", async () => {
    await bootGuest(svc, "frail", { network: { port_forwards: [{ guest_port: GUEST_PORT }] } });
    // The guest's NIC is renamed: every fork of it wakes up without the eth0 its new address goes to.
    expect((await exec(svc, "frail", "ip link set dev eth0 down && ip link set dev eth0 name eth9")).exit_code).toBe(0);
    const snap = await svc.call("POST", "/instances/frail/snapshots", { kind: "Standby", name: "frail-base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    const leasesBefore = svc.sv.core.networkLeases.leases().length;
    const vmmsBefore = vmmProcesses(svc.dataDir).length;

    const res = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name: "frail-fork", target_state: "Running" });
    expect(res.status).toBe(500);
    expect(res.body.message).toContain("handoff network of frail-fork");
    expect((await svc.call("GET", "/instances/frail-fork")).status).toBe(404);
    expect((await svc.call("GET", `/snapshots/${snap.body.id}`)).body.ref_count).toBe(0);
    expect(svc.sv.core.networkLeases.leases().length).toBe(leasesBefore);
    expect(vmmProcesses(svc.dataDir).length).toBe(vmmsBefore);
  });

  test("handoffs run as one guest script, and a failing later step is the one named", async () => {
    await bootGuest(svc, "stiff", { network: { port_forwards: [{ guest_port: GUEST_PORT }] } });
    // /proc/sys read-only: the MAC change succeeds, the hostname write after it fails.
    expect((await exec(svc, "stiff", "mount -o bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && ! echo x >/proc/sys/kernel/domainname")).exit_code).toBe(0);
    const snap = await svc.call("POST", "/instances/stiff/snapshots", { kind: "Standby", name: "stiff-base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);

    const res = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name: "stiff-fork", target_state: "Running" });
    expect(res.status).toBe(500);
    expect(res.body.message).toContain("handoff hostname of stiff-fork");
    expect(res.body.message).toMatch(/Read-only file system/i);
    expect((await svc.call("GET", "/instances/stiff-fork")).status).toBe(404);
  });
});
