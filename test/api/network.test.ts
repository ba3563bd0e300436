// The network fields of POST /instances and GET /capabilities, without guests: defaults per hypervisor, bad input
// as a 4xx naming the field, and the reference's response shape.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { registerFakeImage, startService, type TestService } from "../harness.ts";
import { startFakeVmmService, type FakeVmmService, FAKE_HYPERVISOR } from "./fake-vmm-service.ts";

let qemu: TestService;
let ch: FakeVmmService;

beforeAll(async () => {
  qemu = await startService({ guestImageDir: "/nonexistent-guest-dir" });
  await registerFakeImage(qemu);
  ch = await startFakeVmmService();
});
afterAll(async () => {
  await qemu.close();
  await ch.close();
});

const create = (svc: TestService, name: string, extra: Record<string, unknown>) =>
  svc.call("POST", "/instances", { name, image: "fake", size: "128MB", overlay_size: "16MB", ...extra });

describe("POST /instances network", () => {
  test("QEMU in user mode: enabled by default, no address until the VM runs, bandwidths in the reference's form", async () => {
    const res = await create(qemu, "net-default", { network: { bandwidth_upload: "1Gbps", port_forwards: [{ guest_port: 80 }] } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.network).toEqual({ enabled: true, name: "default", bandwidth_upload: "119.2 MB/s", port_forwards: [] });
  });

  test("disabled: no name, no address", async () => {
    const res = await create(qemu, "net-off", { network: { enabled: false } });
    expect(res.body.network).toEqual({ enabled: false, port_forwards: [] });
  });

  test("bad bandwidth strings are 400 with the reference's codes, naming the field", async () => {
    for (const field of ["bandwidth_download", "bandwidth_upload"]) {
      const res = await create(qemu, "bw-bad", { network: { [field]: "fast" } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(`invalid_${field}`);
      expect(res.body.message).toContain(`network.${field}`);
    }
  });

  test("malformed network objects are 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ port_forwards: [{ guest_port: 0 }] }, "guest_port"],
      [{ port_forwards: [{ guest_port: 80 }, { guest_port: 80 }] }, "port_forwards"],
      [{ enabled: "yes" }, "enabled"],
      [{ egress: {} }, "egress"],
      [{ enabled: false, port_forwards: [{ guest_port: 22 }] }, "network.port_forwards"],
    ];
    for (const [network, field] of cases) {
      const res = await create(qemu, "bad-net", { network });
      expect({ network, status: res.status }).toEqual({ network, status: 400 });
      expect(res.body.message).toContain(field);
    }
  });

  test("a hypervisor that cannot attach the server's mode: off by default, 501 naming the field when asked", async () => {
    const quiet = await ch.call("POST", "/instances", { name: "ch-default", image: "fake", size: "128MB", overlay_size: "16MB", hypervisor: FAKE_HYPERVISOR });
    expect(quiet.status).toBe(201);
    expect(quiet.body.network.enabled).toBe(false);
    const asked = await ch.call("POST", "/instances", {
      name: "ch-net",
      image: "fake",
      size: "128MB",
      overlay_size: "16MB",
      hypervisor: FAKE_HYPERVISOR,
      network: { enabled: true },
    });
    expect(asked.status).toBe(501);
    expect(asked.body.message).toContain("network");
  });
});

test("GET /capabilities reports the user-mode model and which hypervisors can attach it", async () => {
  const res = await qemu.call("GET", "/capabilities");
  expect(res.status).toBe(200);
  expect(res.body.network).toMatchObject({ mode: "user", model: "nat", gateway: "10.0.2.2", guest_to_guest: false, port_forwards: true });
  expect(res.body.network.hypervisors).toContain("qemu");
  expect((await ch.call("GET", "/capabilities")).body.network.hypervisors).toEqual([]);
});

test("start-up drops leases no VM holds (a stopped instance's, a deleted instance's) and keeps none twice", async () => {
  const svc = await startService({ guestImageDir: "/nonexistent-guest-dir" });
  await registerFakeImage(svc);
  const stopped = (await create(svc, "leased-stopped", {})).body.id;
  const leases = svc.sv.core.networkLeases;
  const at = new Date(0);
  leases.insert({ instanceId: stopped, mode: "user", ip: null, mac: "02:00:00:00:00:01", tap: null, createdAt: at }, [{ hostPort: 40999, guestPort: 80 }]);
  leases.insert({ instanceId: "gone000000000000000000000", mode: "user", ip: null, mac: "02:00:00:00:00:02", tap: null, createdAt: at }, []);
  // A second lease with the same MAC is refused by the schema, whatever the caller.
  expect(() => leases.insert({ instanceId: "other", mode: "user", ip: null, mac: "02:00:00:00:00:01", tap: null, createdAt: at }, [])).toThrow();
  await svc.sv.stop();
  const again = await startService({ guestImageDir: "/nonexistent-guest-dir", dataDir: svc.dataDir });
  try {
    expect(again.sv.core.networkLeases.leases()).toEqual([]);
    expect(again.sv.core.networkLeases.usedHostPorts().size).toBe(0);
  } finally {
    await again.close();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
});
