// Payloads written before records had a format version (test/fixtures/payload-v1: guest dirs with a standby
// payload, as the server wrote them, one per hypervisor) still restore: through the CH and FC drivers against
// their fakes, and QEMU's record still passes the real binary's restore check (a real QEMU restore from a
// version-1 record is in test/integration/snapshots.test.ts).
import { afterAll, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { readVmConfig } from "../../src/core/instances/vm-config.ts";
import { CloudHypervisorDriver } from "../../src/hv/cloud-hypervisor/driver.ts";
import { FirecrackerDriver } from "../../src/hv/firecracker/driver.ts";
import type { Hypervisor } from "../../src/hv/hypervisor.ts";
import { QemuDriver } from "../../src/hv/qemu/driver.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { readSavedVm } from "../../src/store/payload/vm-record.ts";
import { checkRestorable, prepareFork, restoreFrom } from "../driver-payload.ts";
import { fakeTarget, removeScratch, scratchDir } from "./vmm-targets.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/payload-v1");
/** The guest dirs the fixtures were written in (what their paths name). */
const WRITTEN_IN = { "cloud-hypervisor": "/var/lib/snapvisor/guests/ch1", firecracker: "/var/lib/snapvisor/guests/fc1" };

const supervisor = new VmmSupervisor();
const root = scratchDir("sv-v1-");
afterAll(async () => {
  await supervisor.killAll();
  removeScratch(root);
});

const drivers: Record<keyof typeof WRITTEN_IN, (command: string[]) => Hypervisor> = {
  "cloud-hypervisor": (command) => new CloudHypervisorDriver({ command, supervisor }),
  firecracker: (command) => new FirecrackerDriver({ command, supervisor }),
};

for (const name of ["cloud-hypervisor", "firecracker"] as const) {
  test(`${name}: a version-1 standby payload, copied to a new guest dir, restores and runs`, async () => {
    const dir = join(root, name);
    cpSync(join(FIXTURES, name), dir, { recursive: true });
    const hv = drivers[name](fakeTarget(name, root).command);
    const standby = join(dir, "standby");
    expect((await readSavedVm(standby)).formatVersion).toBe(1);
    await prepareFork(hv, standby, WRITTEN_IN[name], dir);
    const vm = await restoreFrom(hv, { dir, config: await readVmConfig(dir), snapshotDir: standby });
    expect(await vm.state()).toBe("running");
    await vm.kill();
    // Rewritten by the fork step: now in the current version, with the driver's memory file named.
    expect(await readSavedVm(standby)).toMatchObject({ formatVersion: 2, memoryFile: hv.memoryFile });
  });
}

test("qemu: a version-1 saved-VM record passes this host's restore check", async () => {
  const saved = await checkRestorable(new QemuDriver(), join(FIXTURES, "qemu/standby"));
  expect(saved.detail).toMatchObject({ machine: "pc-q35-7.2", accel: "tcg" });
});
