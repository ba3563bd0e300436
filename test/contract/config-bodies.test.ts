// Every shape of boot body the pure config translations produce (initrd or not, raw and qcow2, read-only, several
// disks, no disk) is valid against the pinned specs with the strict overlay; the lifecycle suites cover the rest.
import { expect, test } from "bun:test";
import { chVmConfig } from "../../src/hv/cloud-hypervisor/config.ts";
import { fcBootRequests, fcSnapshotLoadBody } from "../../src/hv/firecracker/config.ts";
import { withChNetwork } from "../../src/hv/cloud-hypervisor/config.ts";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { cloudHypervisorSpec, firecrackerSpec } from "./openapi-specs.ts";

const base: VmConfig = { vcpus: 1, memoryBytes: 256 * 1024 * 1024, kernel: "/img/vmlinux", cmdline: "console=ttyS0", disks: [], guestAgent: true };
const variants: VmConfig[] = [
  base,
  { ...base, vcpus: 4, initrd: "/img/initrd.img", disks: [{ path: "disk.raw", format: "raw", readonly: false }] },
  { ...base, disks: [{ path: "disk.raw", format: "raw", readonly: false }, { path: "/img/base.raw", format: "raw", readonly: true }] },
  { ...base, network: { mode: "bridge", tap: "sv-abcdefgh", mac: "02:53:56:00:00:01" } },
];

test("CH vm.create bodies are valid VmConfigs", () => {
  const spec = cloudHypervisorSpec();
  const qcow2: VmConfig = { ...base, disks: [{ path: "/img/base.qcow2", format: "qcow2", readonly: true }] };
  for (const config of [...variants, qcow2]) {
    expect(spec.checkRequest("PUT", "/api/v1/vm.create", chVmConfig(config, "/d/guests/a", "logs/serial.log"))).toEqual([]);
  }
  // The validator does fail: a typo CH would silently drop.
  expect(spec.checkRequest("PUT", "/api/v1/vm.create", { ...chVmConfig(base, "/d", "s"), cpu: {} })).toEqual(["(body) must NOT have additional properties 'cpu'"]);
});

test("a bridge attachment becomes CH's `net` and FC's network interface; user mode is refused, not dropped", () => {
  const bridged = variants.at(-1)!;
  expect(chVmConfig(bridged, "/d", "s").net).toEqual([{ tap: "sv-abcdefgh", mac: "02:53:56:00:00:01" }]);
  expect(fcBootRequests(bridged).at(-1)).toEqual({
    method: "PUT",
    path: "/network-interfaces/eth0",
    body: { iface_id: "eth0", host_dev_name: "sv-abcdefgh", guest_mac: "02:53:56:00:00:01" },
  });
  const user: VmConfig = { ...base, network: { mode: "user", mac: "02:53:56:00:00:01", forwards: [] } };
  expect(() => chVmConfig(user, "/d", "s")).toThrow(/no user-mode network/);
  expect(() => fcBootRequests(user)).toThrow(/no user-mode network/);
});

test("FC pre-boot bodies are valid and carry no field v1.16.1 does not know", () => {
  const spec = firecrackerSpec();
  for (const config of variants) {
    for (const r of fcBootRequests(config)) expect({ path: r.path, problems: spec.checkRequest(r.method, r.path, r.body) }).toEqual({ path: r.path, problems: [] });
  }
});

test("a restore names the restoring VM's TAP: FC network_overrides (valid against the spec), CH config.json net[0]", () => {
  const files = { state: "/d/standby/state", memory: "/d/standby/memory" };
  const tap = { mode: "bridge" as const, tap: "sv-fork0000000", mac: "02:00:00:00:00:09" };
  const body = fcSnapshotLoadBody(files, tap);
  expect(body.network_overrides).toEqual([{ iface_id: "eth0", host_dev_name: "sv-fork0000000" }]);
  expect(firecrackerSpec().checkRequest("PUT", "/snapshot/load", body)).toEqual([]);
  expect(fcSnapshotLoadBody(files)).not.toHaveProperty("network_overrides");

  const saved = { ...chVmConfig(variants.at(-1)!, "/d", "s"), net: [{ tap: "sv-source00000", mac: "02:00:00:00:00:01", num_queues: 2 }] };
  const forked = withChNetwork(saved, tap) as typeof saved;
  expect(forked.net).toEqual([{ tap: "sv-fork0000000", mac: "02:00:00:00:00:09", num_queues: 2 }]);
  expect(forked.payload).toEqual(saved.payload);
  expect(withChNetwork({ payload: {} }, tap)).toEqual({ payload: {} }); // no NIC in the snapshot: nothing to rename
});
