// The Cloud Hypervisor driver end to end against a fake `cloud-hypervisor` process (and a real one when found):
// start → pause → snapshot → shutdown → restore in a new process → resume, with the exact calls on the wire, each
// request valid against the v53.0 spec (strict, version-aware), the fake's answers valid too, and the documented
// failure modes mapped to HypervisorErrors.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CH_LAYOUT, CloudHypervisorDriver } from "../../src/hv/cloud-hypervisor/driver.ts";
import type { Hypervisor, VmConfig } from "../../src/hv/hypervisor.ts";
import { UnixHttpClient, VmmHttpError } from "../../src/hv/unix-http.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { cloudHypervisorSpec } from "./openapi-specs.ts";
import { describeRealBinary, driverLifecycle, SHUTDOWN_TIMEOUT_MS, standbyInto, type LifecycleFacts } from "./driver-lifecycle.ts";
import { checkRestorable, prepareFork, restoreFrom } from "../driver-payload.ts";
import { callLine, fakeTarget, guestFixture, removeScratch, scratchDir } from "./vmm-targets.ts";

const supervisor = new VmmSupervisor();
const root = scratchDir("sv-ch-");

afterAll(async () => {
  await supervisor.killAll();
  removeScratch(root);
});

const driver = (command: string[]): Hypervisor => new CloudHypervisorDriver({ command, supervisor });

const CH: LifecycleFacts = {
  name: "cloud-hypervisor",
  snapshotFiles: ["config.json", "memory-ranges", "state.json", "vm.json"],
  memoryFile: "memory-ranges",
  socket: CH_LAYOUT.controlSocket,
  async endRestored(vm) {
    await vm.kill();
    expect(await vm.exited).toBeNull();
  },
};
const lifecycle = (hv: Hypervisor, dir: string, config: VmConfig) => driverLifecycle(hv, CH, dir, config);

describe("cloud-hypervisor driver against the fake VMM process", () => {
  test("v53: exact call order, every request valid, the restored VM is the snapshotted one", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const hv = driver(fake.command);
    const { dir, config } = guestFixture(root, "a");
    const { first, second, snapshotDir } = await lifecycle(hv, dir, config);

    const calls = fake.calls();
    expect(calls.map(callLine)).toEqual([
      "GET /api/v1/vmm.ping",
      "PUT /api/v1/vm.create",
      "PUT /api/v1/vm.boot",
      "GET /api/v1/vm.info",
      "PUT /api/v1/vm.pause",
      "GET /api/v1/vm.info",
      "PUT /api/v1/vm.snapshot",
      "GET /api/v1/vm.info",
      "PUT /api/v1/vmm.shutdown",
      "GET /api/v1/vmm.ping",
      "PUT /api/v1/vm.restore",
      "GET /api/v1/vm.info",
      "GET /api/v1/vm.info",
    ]);
    expect(calls.slice(0, 9).every((c) => c.pid === first.pid)).toBe(true);
    expect(calls.slice(9).every((c) => c.pid === second.pid)).toBe(true);
    expect(calls.every((c) => c.status >= 200 && c.status < 300)).toBe(true);
    const spec = cloudHypervisorSpec(53);
    for (const call of calls) expect({ call: callLine(call), problems: spec.checkRequest(call.method, call.path, call.body) }).toEqual({ call: callLine(call), problems: [] });

    expect(calls[1]!.body).toEqual({
      payload: { kernel: config.kernel, cmdline: config.cmdline },
      cpus: { boot_vcpus: 2, max_vcpus: 2 },
      memory: { size: config.memoryBytes },
      disks: [{ path: join(dir, "disk.raw"), readonly: false, image_type: "Raw" }],
      serial: { mode: "File", file: join(dir, "logs/serial.log") },
      console: { mode: "Off" },
    });
    expect(calls[6]!.body).toEqual({ destination_url: `file://${snapshotDir}` });
    expect(calls[10]!.body).toEqual({ source_url: `file://${snapshotDir}`, prefault: false, memory_restore_mode: "Copy", resume: true });
    expect(calls[10]!.guest).toBe(calls[2]!.guest!);
    expect(readFileSync(join(dir, "logs/serial.log"), "utf8")).toBe(`fake-ch booted guest=${calls[2]!.guest}\nfake-ch restored guest=${calls[2]!.guest}\n`);
  });

  test("v51 has no `resume` on vm.restore: the driver sends neither it nor memory_restore_mode, and resumes itself", async () => {
    const fake = fakeTarget("cloud-hypervisor", root, ["--fake-version", "51.0"]);
    const hv = driver(fake.command);
    expect(await hv.version()).toBe("51.0");
    const { dir, config } = guestFixture(root, "v51");
    const { snapshotDir } = await lifecycle(hv, dir, config);
    const calls = fake.calls();
    expect(calls.slice(9).map(callLine)).toEqual(["GET /api/v1/vmm.ping", "PUT /api/v1/vm.restore", "PUT /api/v1/vm.resume", "GET /api/v1/vm.info"]);
    expect(calls[10]!.body).toEqual({ source_url: `file://${snapshotDir}`, prefault: false });
    const spec = cloudHypervisorSpec(51);
    for (const call of calls) expect(spec.checkRequest(call.method, call.path, call.body)).toEqual([]);
    // The same v53 restore body is what the v51-aware contract refuses.
    expect(spec.checkRequest("PUT", "/api/v1/vm.restore", { source_url: "file:///s", prefault: false, memory_restore_mode: "Copy", resume: true })).not.toEqual([]);
  });

  test("the fake's answers are valid VmmPingResponse and VmInfo", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const { dir, config } = guestFixture(root, "answers");
    const vm = await driver(fake.command).start({ dir, config });
    const api = new UnixHttpClient(join(dir, CH_LAYOUT.controlSocket), "http://localhost/api/v1");
    const spec = cloudHypervisorSpec();
    expect(spec.checkResponse("GET", "/api/v1/vmm.ping", await api.request("GET", "/vmm.ping"))).toEqual([]);
    expect(spec.checkResponse("GET", "/api/v1/vm.info", await api.request("GET", "/vm.info"))).toEqual([]);
    await vm.kill();
  });

  test("CH errors (500 + JSON array) become HypervisorErrors with CH's words; a snapshot never overwrites files", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const { dir, config } = guestFixture(root, "errors");
    const vm = await driver(fake.command).start({ dir, config });
    const snapshotDir = join(dir, "standby");
    mkdirSync(snapshotDir);
    const running = await vm.snapshot(snapshotDir).catch((e) => e);
    expect(running).toBeInstanceOf(VmmHttpError);
    expect(running).toMatchObject({ kind: "failed", status: 500, nativeMessage: "Error from API: Error snapshotting the VM: Trying to snapshot while VM is running" });
    await vm.pause();
    const again = await vm.pause().catch((e) => e);
    expect(again.message).toContain("The VM could not be paused");
    await vm.snapshot(snapshotDir);
    const twice = await vm.snapshot(snapshotDir).catch((e) => e);
    expect(twice.message).toContain("File exists (os error 17)");
    await vm.kill();
    const gone = await vm.state().catch((e) => e);
    expect(gone).toMatchObject({ kind: "gone" });
  });

  test("shutdown of a running VM: ACPI power button, the guest powers off, vmm.shutdown ends the process cleanly", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const { dir, config } = guestFixture(root, "poweroff");
    const vm = await driver(fake.command).start({ dir, config });
    await vm.shutdown(SHUTDOWN_TIMEOUT_MS);
    expect(await vm.exited).toBe(0);
    expect(fake.calls().slice(3).map(callLine)).toEqual(["GET /api/v1/vm.info", "PUT /api/v1/vm.power-button", "GET /api/v1/vm.info", "PUT /api/v1/vmm.shutdown"]);
  });

  test("fork: prepareFork moves config.json's paths to the new dir, so the copy restores after the source is gone", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const hv = driver(fake.command);
    const source = guestFixture(root, "src");
    await standbyInto(hv, await hv.start(source), source.dir);

    const forkDir = join(root, "fork");
    const unprepared = join(root, "fork-unprepared");
    cpSync(source.dir, forkDir, { recursive: true });
    cpSync(source.dir, unprepared, { recursive: true });
    await prepareFork(hv, join(forkDir, "standby"), source.dir, forkDir);
    rmSync(source.dir, { recursive: true });

    const configJson = readFileSync(join(forkDir, "standby/config.json"), "utf8");
    expect(configJson).not.toContain(source.dir);
    expect(JSON.parse(configJson).disks[0].path).toBe(join(forkDir, "disk.raw"));
    const forked = await restoreFrom(hv, { dir: forkDir, config: source.config, snapshotDir: join(forkDir, "standby") });
    expect(await forked.state()).toBe("running");
    await forked.kill();
    // Without prepareFork the copy still names the removed source dir: CH cannot open the disk.
    const failed = await restoreFrom(hv, { dir: unprepared, config: source.config, snapshotDir: join(unprepared, "standby") }).catch((e) => e);
    expect(failed).toBeInstanceOf(VmmHttpError);
    expect(failed.message).toContain(`Failed to open disk image ${join(source.dir, "disk.raw")}`);
  });

  test("a snapshot of another CH version is refused as incompatible before any process starts", async () => {
    const writer = fakeTarget("cloud-hypervisor", root, ["--fake-version", "53.0"]);
    const { dir, config } = guestFixture(root, "cross");
    const writerHv = driver(writer.command);
    await standbyInto(writerHv, await writerHv.start({ dir, config }), dir);

    const reader = fakeTarget("cloud-hypervisor", root, ["--fake-version", "52.0"]);
    const hv = driver(reader.command);
    const refused = await checkRestorable(hv, join(dir, "standby")).catch((e) => e);
    expect(refused).toMatchObject({ kind: "incompatible" });
    expect(refused.message).toContain("written by cloud-hypervisor 53.0; this host runs 52.0");
    await expect(restoreFrom(hv, { dir, config, snapshotDir: join(dir, "standby") })).rejects.toMatchObject({ kind: "incompatible" });
    expect(reader.calls()).toEqual([]);
    // A dir without a record: nothing the store can hand to the driver.
    await expect(checkRestorable(hv, root)).rejects.toMatchObject({ kind: "missing" });
  });

  test("attach adopts a VMM left by an earlier server process; a pid that is not that VMM is null", async () => {
    const fake = fakeTarget("cloud-hypervisor", root);
    const { dir, config } = guestFixture(root, "attach");
    const vm = await driver(fake.command).start({ dir, config });
    const later = new VmmSupervisor();
    const hv = new CloudHypervisorDriver({ command: fake.command, supervisor: later });
    expect(await hv.attach(dir, process.pid, vm.launched)).toBeNull();
    const adopted = await hv.attach(dir, vm.pid, vm.launched);
    expect(adopted?.pid).toBe(vm.pid);
    expect(await adopted!.state()).toBe("running");
    await adopted!.kill();
    await vm.exited;
    expect(existsSync(join(dir, CH_LAYOUT.controlSocket))).toBe(false);
  });

  test("a VMM that dies before serving its API is reported (kind gone) with the end of its log", async () => {
    const fake = fakeTarget("cloud-hypervisor", root, ["--fake-exit-on-start", "3"]);
    const { dir, config } = guestFixture(root, "dies");
    const err = await driver(fake.command).start({ dir, config }).catch((e) => e);
    expect(err).toMatchObject({ kind: "gone" });
    expect(err.message).toContain("exited (code 3) before serving its API");
    expect(err.message).toContain("fake: exiting at start as asked");
  });
});

describeRealBinary(CH, root, driver);
