// The QEMU driver against real QEMU and the default guest (TCG): boot, pause, snapshot, end, restore in a new
// process (the guest's `tick N` counter goes on), fork, adoption by a new driver, refusals, and nothing left
// running. Prints the timings the driver is judged by (start → QMP ready, standby, restore).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execInGuest, waitForAgent } from "../../src/hv/guest-agent/index.ts";
import { HypervisorError, type VmConfig } from "../../src/hv/hypervisor.ts";
import { QemuDriver } from "../../src/hv/qemu/driver.ts";
import type { QemuVm } from "../../src/hv/qemu/qemu-vm.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { readLaunchRecord } from "../../src/store/payload/vm-record.ts";
import { checkRestorable, prepareFork, restoreFrom, snapshotRecorded } from "../driver-payload.ts";
import { isContinuous, vmmProcesses } from "./guest.ts";

const REPO_DIR = join(import.meta.dir, "../..");
const GUEST_DIR = process.env.SNAPVISOR_GUEST_DIR ?? join(REPO_DIR, ".cache/guest");
/** A TCG boot takes ~2.5 s; leave room for a loaded CI machine. */
const BOOT_TIMEOUT_MS = 60_000;
/** Per guest-booting test: a boot plus the work on it. */
const TEST_TIMEOUT_MS = 2 * BOOT_TIMEOUT_MS;
const MIB = 1024 * 1024;

let root: string;
let config: VmConfig;
const timings: Record<string, number> = {};
const qmpReady: number[] = [];
/** Ends what the driver started, as the server does at exit. */
const supervisor = new VmmSupervisor();
const driver = new QemuDriver({ supervisor, logger: { info: (_msg, fields) => qmpReady.push(Number(fields?.qmpReadyMs)) } });

beforeAll(async () => {
  const build = Bun.spawn(["bash", join(REPO_DIR, "scripts/build-guest"), GUEST_DIR], { stdout: "inherit", stderr: "inherit" });
  expect(await build.exited).toBe(0);
  const manifest = (await Bun.file(join(GUEST_DIR, "manifest.json")).json()) as { cmdline: string };
  root = mkdtempSync(join(tmpdir(), "qemu-driver-"));
  config = {
    vcpus: 1,
    memoryBytes: 256 * MIB,
    kernel: join(GUEST_DIR, "vmlinuz"),
    initrd: join(GUEST_DIR, "initrd.img"),
    cmdline: manifest.cmdline,
    disks: [{ path: "disk.raw", format: "raw", readonly: false }],
    guestAgent: true,
    agentChannel: "virtio-serial",
  };
}, 300_000);

afterAll(async () => {
  await supervisor.killAll();
  rmSync(root, { recursive: true, force: true });
  console.log("qemu driver timings (ms):", { ...timings, qmpReadyMs: qmpReady });
});

function guestDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  Bun.spawnSync(["cp", "--sparse=always", join(GUEST_DIR, "rootfs.ext4"), join(dir, "disk.raw")]);
  return dir;
}

const serialLog = (dir: string) => readFileSync(join(dir, "logs/serial.log"), "utf8");
const ticks = (text: string) => [...text.matchAll(/^tick (\d+)\r?$/gm)].map((m) => Number(m[1]));

async function waitForTick(dir: string, atLeast: number): Promise<void> {
  const deadline = performance.now() + BOOT_TIMEOUT_MS;
  while (Math.max(0, ...ticks(serialLog(dir))) < atLeast) {
    if (performance.now() > deadline) throw new Error(`no tick ${atLeast} in ${dir} within ${BOOT_TIMEOUT_MS} ms`);
    await Bun.sleep(100);
  }
}

async function elapsed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  timings[name] = Math.round(performance.now() - started);
  return result;
}

async function hypervisorError(promise: Promise<unknown>): Promise<HypervisorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HypervisorError);
  return err as HypervisorError;
}

describe("standby and restore", () => {
  let dir: string;
  let vm: QemuVm;
  let logAtSnapshot: string;
  let memoryHash: bigint;

  test("start: the VM runs and its guest boots", async () => {
    dir = guestDir("a");
    vm = await elapsed("start", () => driver.start({ dir, config }));
    expect(await vm.state()).toBe("running");
    expect(vmmProcesses(dir)).toEqual([vm.pid]);
    await waitForTick(dir, 3);
  }, TEST_TIMEOUT_MS);

  test("pause, snapshot: memory and record written, VM still paused", async () => {
    mkdirSync(join(dir, "standby"));
    await elapsed("standbyPauseAndSnapshot", async () => {
      await vm.pause();
      await snapshotRecorded(driver, vm, join(dir, "standby"));
    });
    expect(await vm.state()).toBe("paused");
    logAtSnapshot = serialLog(dir);
    const saved = JSON.parse(readFileSync(join(dir, "standby/vm.json"), "utf8"));
    expect(saved).toMatchObject({ format_version: 2, hypervisor: "qemu", version: await driver.version(), config, detail: { machine: "pc-q35-7.2", accel: "tcg" }, memory_file: "memory" });
    expect(saved.memory_kind).toBe("ram-file");
    // The RAM file itself (apparent size: the guest's RAM) and the device state beside it.
    expect(statSync(join(dir, "standby/memory")).size).toBe(config.memoryBytes);
    expect(statSync(join(dir, "standby/state")).size).toBeLessThan(4 * MIB);
    memoryHash = Bun.hash(readFileSync(join(dir, "standby/memory")));
    // The fork below needs the disk as it was at snapshot time.
    mkdirSync(join(root, "fork"));
    copyFileSync(join(dir, "disk.raw"), join(root, "fork/disk.raw"));
  }, TEST_TIMEOUT_MS);

  test("shutdown after the snapshot ends the process and keeps the files", async () => {
    await vm.shutdown(10_000);
    expect(await vm.exited).toBe(0); // `quit`, not a signal
    expect(vmmProcesses(dir)).toEqual([]);
    expect(Bun.hash(readFileSync(join(dir, "standby/memory")))).toBe(memoryHash);
  }, TEST_TIMEOUT_MS);

  test("fork: the same snapshot restored into another dir runs on its own", async () => {
    const forkDir = join(root, "fork");
    mkdirSync(join(forkDir, "standby"));
    linkSync(join(dir, "standby/memory"), join(forkDir, "standby/memory"));
    for (const file of ["state", "vm.json"]) copyFileSync(join(dir, "standby", file), join(forkDir, "standby", file));
    await prepareFork(driver, join(forkDir, "standby"), dir, forkDir);
    const fork = await restoreFrom(driver, { dir: forkDir, config, snapshotDir: join(forkDir, "standby") });
    expect(await fork.state()).toBe("running");
    const last = ticks(logAtSnapshot).at(-1)!;
    await waitForTick(forkDir, last + 2);
    expect(ticks(serialLog(forkDir))[0]).toBe(last + 1);
    expect(vmmProcesses(forkDir)).toEqual([fork.pid]);
    // The RAM file is linked by another payload: the fork maps it copy-on-write and never writes it.
    expect(fork.ramFile).toEqual({ path: join(forkDir, "ram"), share: false });
    expect(Bun.hash(readFileSync(join(dir, "standby/memory")))).toBe(memoryHash);
    await fork.kill();
    expect(await fork.exited).toBeNull();
    expect(vmmProcesses(forkDir)).toEqual([]);
    // Its link to the RAM file went with the VMM; the payload's goes now, so the file is the original's alone.
    rmSync(join(forkDir, "standby"), { recursive: true });
    expect(statSync(join(dir, "standby/memory")).nlink).toBe(1);
  }, TEST_TIMEOUT_MS);

  test("restore in a new process: the guest continues where it stopped", async () => {
    const freshSupervisor = new VmmSupervisor();
    const fresh = new QemuDriver({ supervisor: freshSupervisor });
    vm = await elapsed("restore", () => restoreFrom(fresh, { dir, config, snapshotDir: join(dir, "standby") }));
    expect(await vm.state()).toBe("running");
    const before = ticks(logAtSnapshot);
    await waitForTick(dir, before.at(-1)! + 2);
    const log = serialLog(dir);
    expect(log.startsWith(logAtSnapshot)).toBe(true); // appended, not truncated
    const after = ticks(log.slice(logAtSnapshot.length));
    expect(after[0]).toBe(before.at(-1)! + 1);
    expect(isContinuous(ticks(log))).toBe(true);
    expect(log.match(/BOOT-MARKER/g)).toHaveLength(1);
    // The agent (a new socket, the same guest loop) answers, and reports the counter kept in guest memory.
    const agent = join(dir, "agent.sock");
    await waitForAgent(agent, { timeoutMs: 30_000 });
    const tick = await execInGuest(agent, "cat /run/tick");
    expect(Number(tick.stdout.trim())).toBeGreaterThan(before.at(-1)!);
    // Nobody else links the RAM file: it is the guest's memory again, mapped shared (no copy).
    expect(vm.ramFile).toEqual({ path: join(dir, "ram"), share: true });
    expect(statSync(join(dir, "ram")).ino).toBe(statSync(join(dir, "standby/memory")).ino);
    await freshSupervisor.killAll();
  }, TEST_TIMEOUT_MS);
});

describe("adoption, refusals and clean-up", () => {
  let dir: string;
  let vm: QemuVm;

  test("a VMM outlives the server process that started it and a new driver adopts it", async () => {
    dir = guestDir("b");
    // An earlier "server": starts the VM and exits without ending it (a crash, as far as the VM can tell).
    const script = join(root, "earlier-server.ts");
    writeFileSync(
      script,
      `import { QemuDriver } from ${JSON.stringify(join(REPO_DIR, "src/hv/qemu/driver.ts"))};
       import { writeLaunchRecord } from ${JSON.stringify(join(REPO_DIR, "src/store/payload/vm-record.ts"))};
       const vm = await new QemuDriver().start({ dir: ${JSON.stringify(dir)}, config: ${JSON.stringify(config)} });
       await writeLaunchRecord(${JSON.stringify(dir)}, vm.launched, new Date());
       console.log(vm.pid);
       process.exit(0);`,
    );
    const earlier = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    const pid = Number((await new Response(earlier.stdout).text()).trim());
    expect(await earlier.exited).toBe(0);
    expect(vmmProcesses(dir)).toEqual([pid]);

    const launched = await readLaunchRecord(dir, "qemu");
    expect(await driver.attach(dir, process.pid, launched)).toBeNull(); // alive, but not a VMM of this dir
    expect(await driver.attach(join(root, "a"), pid, launched)).toBeNull(); // a VMM, but of another dir
    vm = (await driver.attach(dir, pid, launched))!;
    expect(vm.pid).toBe(pid);
    expect(await vm.state()).toBe("running");
    await vm.pause();
    expect(await vm.state()).toBe("paused");
    await vm.resume();
    await waitForTick(dir, 2);
    await vm.kill();
    expect(await vm.exited).toBeNull();
    expect(vmmProcesses(dir)).toEqual([]);
    expect(await driver.attach(dir, pid, launched)).toBeNull(); // gone
  }, TEST_TIMEOUT_MS);

  test("a VM resumed after a snapshot runs on, disk writes included; shutdown ends it though it ignores ACPI", async () => {
    vm = await driver.start({ dir, config });
    await waitForTick(dir, 2);
    mkdirSync(join(dir, "snap"));
    await vm.pause();
    await vm.snapshot(join(dir, "snap"));
    await vm.resume(); // from `postmigrate`: QEMU takes its disks back
    expect(await vm.state()).toBe("running");
    const agent = join(dir, "agent.sock");
    await waitForAgent(agent, { timeoutMs: 30_000 });
    const wrote = await execInGuest(agent, "echo after-snapshot >/mnt/probe && sync && cat /mnt/probe");
    expect(wrote).toEqual({ exitCode: 0, stdout: "after-snapshot\n", stderr: "", stdoutTruncated: false, stderrTruncated: false });
    await vm.shutdown(500);
    await vm.exited;
    expect(vmmProcesses(dir)).toEqual([]);
    expect(await vm.state()).toBe("shutdown");
  }, TEST_TIMEOUT_MS);

  test("a snapshot of another QEMU whose machine we lack is incompatible; a pinned machine loads across versions", async () => {
    const snap = join(root, "foreign");
    mkdirSync(snap);
    const record = JSON.parse(readFileSync(join(root, "a/standby/vm.json"), "utf8"));
    const write = (changes: object) => writeFileSync(join(snap, "vm.json"), JSON.stringify({ ...record, ...changes }));

    write({ version: "6.2.0", detail: { ...record.detail, machine: "pc-q35-6.2-gone" } });
    const err = await hypervisorError(checkRestorable(driver, snap));
    expect(err.kind).toBe("incompatible");
    expect(err.message).toBe(
      `snapshot was written by QEMU 6.2.0 with machine pc-q35-6.2-gone, which QEMU ${await driver.version()} cannot load`,
    );
    const restoreDir = guestDir("foreign-restore");
    expect((await hypervisorError(restoreFrom(driver, { dir: restoreDir, config, snapshotDir: snap }))).kind).toBe("incompatible");
    expect(vmmProcesses(restoreDir)).toEqual([]);

    write({ version: "9.9.9" });
    expect((await checkRestorable(driver, snap)).detail).toMatchObject({ machine: "pc-q35-7.2" });

    write({ hypervisor: "firecracker" });
    expect((await hypervisorError(checkRestorable(driver, snap))).kind).toBe("incompatible");
  });

  test("a QEMU that dies at start is reported with what it printed", async () => {
    const bad = guestDir("bad");
    const err = await hypervisorError(driver.start({ dir: bad, config: { ...config, kernel: join(root, "no-such-kernel") } }));
    expect(err.kind).toBe("failed");
    expect(err.message).toContain("start: QEMU exited");
    expect(err.message).toContain("no-such-kernel"); // QEMU's own complaint, from logs/vmm.log
    expect(vmmProcesses(bad)).toEqual([]);
  });

  test("the supervisor's killAll leaves no QEMU of the driver behind", async () => {
    const vms = await Promise.all([guestDir("c"), guestDir("d")].map((d) => driver.start({ dir: d, config })));
    expect(vmmProcesses(root)).toHaveLength(2);
    await supervisor.killAll();
    await Promise.all(vms.map((v) => v.exited));
    expect(vmmProcesses(root)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
