// What the Cloud Hypervisor and Firecracker driver suites share: the lifecycle through a driver
// (start → pause → snapshot → shutdown → restore in a new process), the standby step many tests set up with,
// and the suite that runs that lifecycle against a real binary or says why it cannot.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor, RunningVm, VmConfig } from "../../src/hv/hypervisor.ts";
import { checkRestorable, restoreFrom, snapshotRecorded } from "../driver-payload.ts";
import { guestFixture, realTarget, type VmmName } from "./vmm-targets.ts";

export const SHUTDOWN_TIMEOUT_MS = 5_000;

export interface LifecycleFacts {
  name: VmmName;
  /** What a snapshot dir holds afterwards, sorted (the VMM's files and our vm.json). */
  snapshotFiles: string[];
  memoryFile: string;
  /** The control socket, relative to the guest dir: gone whenever no VMM runs. */
  socket: string;
  /** How the restored VM is ended (and what that proves). */
  endRestored(vm: RunningVm): Promise<void>;
}

/** The lifecycle through `hv`; returns both VMs (the second one ended) and the snapshot dir. */
export async function driverLifecycle(hv: Hypervisor, facts: LifecycleFacts, dir: string, config: VmConfig) {
  const first = await hv.start({ dir, config });
  expect(await first.state()).toBe("running");
  await first.pause();
  expect(await first.state()).toBe("paused");
  const snapshotDir = join(dir, "standby");
  mkdirSync(snapshotDir);
  await snapshotRecorded(hv, first, snapshotDir);
  expect(readdirSync(snapshotDir).sort()).toEqual(facts.snapshotFiles);
  expect(hv.memoryFile).toBe(facts.memoryFile);
  await first.shutdown(SHUTDOWN_TIMEOUT_MS);
  expect(existsSync(join(dir, facts.socket))).toBe(false);

  expect(await checkRestorable(hv, snapshotDir)).toMatchObject({ hypervisor: facts.name, version: await hv.version(), config });
  const second = await restoreFrom(hv, { dir, config, snapshotDir });
  expect(second.pid).not.toBe(first.pid);
  expect(await second.state()).toBe("running");
  await facts.endRestored(second);
  expect(existsSync(join(dir, facts.socket))).toBe(false);
  return { first, second, snapshotDir };
}

/** Pauses `vm`, snapshots it into `<dir>/standby` and ends it; returns that snapshot dir. */
export async function standbyInto(hv: Hypervisor, vm: RunningVm, dir: string): Promise<string> {
  const snapshotDir = join(dir, "standby");
  await vm.pause();
  mkdirSync(snapshotDir);
  await snapshotRecorded(hv, vm, snapshotDir);
  await vm.kill();
  return snapshotDir;
}

/** The lifecycle against the real binary when one is found; otherwise a skipped test that says why. */
export function describeRealBinary(facts: LifecycleFacts, root: string, driver: (command: string[]) => Hypervisor): void {
  const real = realTarget(facts.name);
  describe(`${facts.name} driver against the real binary`, () => {
    if ("skip" in real) {
      console.log(`[${facts.name}] real-binary suite skipped: ${real.skip}`);
      test.skip(`real ${facts.name} lifecycle (skipped: ${real.skip})`, () => {});
      return;
    }
    test("start → pause → snapshot → shutdown → restore in a new process → resume", async () => {
      const { dir, config } = guestFixture(root, "real", real.kernel);
      await driverLifecycle(driver(real.command), facts, dir, config);
    });
  });
}
