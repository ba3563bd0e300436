import { expect, test } from "bun:test";
import type { VmConfig } from "./hypervisor.ts";
import { withIdentityOf } from "./vm-identity.ts";

const base: VmConfig = { vcpus: 1, memoryBytes: 256 << 20, kernel: "/k", cmdline: "console=ttyS0", disks: [], guestAgent: true };
const srcNet = { mode: "user" as const, mac: "02:00:00:00:00:01", forwards: [{ guestPort: 80, hostPort: 40001 }] };
const forkNet = { mode: "user" as const, mac: "02:00:00:00:00:02", forwards: [{ guestPort: 80, hostPort: 40002 }] };

test("the saved hardware with the restoring VM's NIC backend, MAC and generation id", () => {
  const saved = { ...base, cmdline: "saved", network: srcNet, generationId: "g-source" };
  const current = { ...base, cmdline: "current", vcpus: 4, network: forkNet, generationId: "g-fork" };
  expect(withIdentityOf(saved, current)).toEqual({ ...saved, network: forkNet, generationId: "g-fork" });
});

test("devices the snapshot lacks are never added (the stream would not load), and kept when the VM gives none", () => {
  expect(withIdentityOf(base, { ...base, network: forkNet, generationId: "g" })).toEqual(base);
  const saved = { ...base, network: srcNet, generationId: "g-source" };
  expect(withIdentityOf(saved, base)).toEqual(saved);
});
