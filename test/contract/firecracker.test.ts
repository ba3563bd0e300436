// The Firecracker driver end to end against a fake `firecracker` process (and a real one when found):
// start → pause → snapshot → shutdown → restore in a new process → resume, with the exact calls on the wire, each
// request valid against the v1.16.1 spec with `deny_unknown_fields` everywhere and the mem_* rule, the fake's
// answers valid too, and the documented failure modes mapped to HypervisorErrors.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FC_LAYOUT, FirecrackerDriver } from "../../src/hv/firecracker/driver.ts";
import type { Hypervisor, VmConfig } from "../../src/hv/hypervisor.ts";
import { UnixHttpClient, VmmHttpError } from "../../src/hv/unix-http.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { firecrackerSpec } from "./openapi-specs.ts";
import { describeRealBinary, driverLifecycle, SHUTDOWN_TIMEOUT_MS, standbyInto, type LifecycleFacts } from "./driver-lifecycle.ts";
import { prepareFork, restoreFrom } from "../driver-payload.ts";
import { callLine, fakeTarget, guestFixture, removeScratch, scratchDir } from "./vmm-targets.ts";

const supervisor = new VmmSupervisor();
const root = scratchDir("sv-fc-");

afterAll(async () => {
  await supervisor.killAll();
  removeScratch(root);
});

const driver = (command: string[]): Hypervisor => new FirecrackerDriver({ command, supervisor });

const FC: LifecycleFacts = {
  name: "firecracker",
  snapshotFiles: ["memory", "state", "vm.json"],
  memoryFile: "memory",
  socket: FC_LAYOUT.controlSocket,
  endRestored: (vm) => vm.shutdown(SHUTDOWN_TIMEOUT_MS), // Ctrl-Alt-Del, then the signal
};
const lifecycle = (hv: Hypervisor, dir: string, config: VmConfig) => driverLifecycle(hv, FC, dir, config);

describe("firecracker driver against the fake VMM process", () => {
  test("exact call order, every request valid (no unknown fields), the restored VM is the snapshotted one", async () => {
    const fake = fakeTarget("firecracker", root);
    const hv = driver(fake.command);
    const { dir, config } = guestFixture(root, "a");
    const { first, second, snapshotDir } = await lifecycle(hv, dir, config);

    const calls = fake.calls();
    expect(calls.map(callLine)).toEqual([
      "GET /",
      "PUT /boot-source",
      "PUT /machine-config",
      "PUT /drives/disk0",
      "PUT /actions",
      "GET /",
      "PATCH /vm",
      "GET /",
      "PUT /snapshot/create",
      "GET /",
      "GET /",
      "PUT /snapshot/load",
      "PATCH /vm",
      "GET /",
      "GET /",
      "PUT /actions",
    ]);
    expect(calls.slice(0, 10).every((c) => c.pid === first.pid)).toBe(true);
    expect(calls.slice(10).every((c) => c.pid === second.pid)).toBe(true);
    expect(calls.every((c) => c.status >= 200 && c.status < 300)).toBe(true);
    const spec = firecrackerSpec();
    for (const call of calls) expect({ call: callLine(call), problems: spec.checkRequest(call.method, call.path, call.body) }).toEqual({ call: callLine(call), problems: [] });

    expect(calls.map((c) => c.body)).toEqual([
      null,
      { kernel_image_path: config.kernel, boot_args: config.cmdline },
      { vcpu_count: 2, mem_size_mib: 64 },
      { drive_id: "disk0", path_on_host: "disk.raw", is_root_device: false, is_read_only: false },
      { action_type: "InstanceStart" },
      null,
      { state: "Paused" },
      null,
      { snapshot_type: "Full", snapshot_path: join(snapshotDir, "state"), mem_file_path: join(snapshotDir, "memory") },
      null,
      null,
      { snapshot_path: join(snapshotDir, "state"), mem_backend: { backend_type: "File", backend_path: join(snapshotDir, "memory") }, resume_vm: false },
      { state: "Resumed" },
      null,
      null,
      { action_type: "SendCtrlAltDel" },
    ]);
    expect(calls[11]!.guest).toBe(calls[4]!.guest!);
    // The UART is the process's stdout, which the supervisor puts in the serial log of the layout.
    expect(readFileSync(join(dir, FC_LAYOUT.serialLog), "utf8")).toContain(`fake-fc restored guest=${calls[4]!.guest}`);
  });

  test("the contract catches what Firecracker would reject: unknown fields, both or neither mem_* field", () => {
    const spec = firecrackerSpec();
    expect(spec.checkRequest("PUT", "/machine-config", { vcpu_count: 2, mem_size_mib: 64, memory_mib: 1 })).toEqual(["(body) must NOT have additional properties 'memory_mib'"]);
    expect(spec.checkRequest("PUT", "/snapshot/load", { snapshot_path: "s", resume_vm: false })).not.toEqual([]);
    expect(spec.checkRequest("PUT", "/snapshot/load", { snapshot_path: "s", mem_file_path: "m", mem_backend: { backend_type: "File", backend_path: "m" } })).not.toEqual([]);
    expect(spec.checkRequest("PUT", "/snapshot/load", { snapshot_path: "s", mem_backend: { backend_type: "File", backend_path: "m", x: 1 } })).not.toEqual([]);
    expect(spec.checkRequest("PUT", "/snapshot/load", { snapshot_path: "s", mem_backend: { backend_type: "File", backend_path: "m" }, huge_pages: "None" })).not.toEqual([]);
    expect(spec.checkRequest("PUT", "/vm", { state: "Paused" })).toEqual(["PUT /vm is not an operation of fc"]);
  });

  test("the fake's GET / answer is a valid InstanceInfo", async () => {
    const fake = fakeTarget("firecracker", root);
    const { dir, config } = guestFixture(root, "answers");
    const vm = await driver(fake.command).start({ dir, config });
    const api = new UnixHttpClient(join(dir, FC_LAYOUT.controlSocket), "http://localhost");
    expect(firecrackerSpec().checkResponse("GET", "/", await api.request("GET", "/"))).toEqual([]);
    await vm.kill();
  });

  test("Firecracker errors (400 fault_message) become HypervisorErrors with its words", async () => {
    const fake = fakeTarget("firecracker", root);
    const { dir, config } = guestFixture(root, "errors");
    const vm = await driver(fake.command).start({ dir, config });
    mkdirSync(join(dir, "standby"));
    const running = await vm.snapshot(join(dir, "standby")).catch((e) => e);
    expect(running).toBeInstanceOf(VmmHttpError);
    expect(running).toMatchObject({ kind: "failed", status: 400 });
    expect(running.nativeMessage).toStartWith("Cannot create snapshot while microVM is running");
    await vm.kill();
    // What the driver refuses itself never reaches a process.
    await expect(driver(fake.command).start({ dir, config: { ...config, vcpus: 3 } })).rejects.toMatchObject({ kind: "not_supported" });
  });

  test("a failed load kills the (now unusable) process and says why", async () => {
    const fake = fakeTarget("firecracker", root);
    const hv = driver(fake.command);
    const { dir, config } = guestFixture(root, "badload");
    await standbyInto(hv, await hv.start({ dir, config }), dir);
    rmSync(join(dir, "disk.raw"));
    const err = await restoreFrom(hv, { dir, config, snapshotDir: join(dir, "standby") }).catch((e) => e);
    expect(err).toBeInstanceOf(VmmHttpError);
    expect(err.message).toContain("Load snapshot error");
    expect(existsSync(join(dir, FC_LAYOUT.controlSocket))).toBe(false);
  });

  test("fork: relative drive paths + the guest dir as cwd let a copied snapshot restore after the source is gone", async () => {
    const fake = fakeTarget("firecracker", root);
    const hv = driver(fake.command);
    const source = guestFixture(root, "src");
    await standbyInto(hv, await hv.start(source), source.dir);
    const forkDir = join(root, "fork");
    cpSync(source.dir, forkDir, { recursive: true });
    await prepareFork(hv, join(forkDir, "standby"), source.dir, forkDir);
    rmSync(source.dir, { recursive: true });
    const forked = await restoreFrom(hv, { dir: forkDir, config: source.config, snapshotDir: join(forkDir, "standby") });
    expect(await forked.state()).toBe("running");
    await forked.kill();
  });

  test("prepareFork refuses a snapshot whose drive is an absolute path inside the source dir (no drive override)", async () => {
    const fake = fakeTarget("firecracker", root);
    const hv = driver(fake.command);
    const source = guestFixture(root, "abs");
    const config = { ...source.config, disks: [{ path: join(source.dir, "disk.raw"), format: "raw" as const, readonly: false }] };
    await standbyInto(hv, await hv.start({ dir: source.dir, config }), source.dir);
    await expect(prepareFork(hv, join(source.dir, "standby"), source.dir, join(root, "abs-fork"))).rejects.toMatchObject({ kind: "not_supported" });
  });

  test("snapshot formats: another major is incompatible before any process starts; an older minor loads", async () => {
    const writer = fakeTarget("firecracker", root, ["--fake-version", "1.16.1", "--fake-snapshot-format", "10.0.0"]);
    const { dir, config } = guestFixture(root, "formats");
    const writerHv = driver(writer.command);
    await standbyInto(writerHv, await writerHv.start({ dir, config }), dir);
    expect(JSON.parse(readFileSync(join(dir, "standby/vm.json"), "utf8"))).toMatchObject({ version: "1.16.1", detail: { snapshotFormat: "10.0.0" } });

    const newer = fakeTarget("firecracker", root, ["--fake-version", "1.17.0", "--fake-snapshot-format", "11.0.0"]);
    const refused = await restoreFrom(driver(newer.command), { dir, config, snapshotDir: join(dir, "standby") }).catch((e) => e);
    expect(refused).toMatchObject({ kind: "incompatible" });
    expect(refused.message).toContain("snapshot format 10.0.0 (firecracker 1.16.1) cannot be loaded by firecracker 1.17.0");
    expect(newer.calls()).toEqual([]);

    const minor = fakeTarget("firecracker", root, ["--fake-version", "1.16.2", "--fake-snapshot-format", "10.1.0"]);
    const restored = await restoreFrom(driver(minor.command), { dir, config, snapshotDir: join(dir, "standby") });
    expect(await restored.state()).toBe("running");
    await restored.kill();
  });

  test("attach adopts a VMM left by an earlier server process", async () => {
    const fake = fakeTarget("firecracker", root);
    const { dir, config } = guestFixture(root, "attach");
    const vm = await driver(fake.command).start({ dir, config });
    const hv = new FirecrackerDriver({ command: fake.command, supervisor: new VmmSupervisor() });
    expect(await hv.attach(dir, process.pid, vm.launched)).toBeNull();
    const adopted = await hv.attach(dir, vm.pid, vm.launched);
    expect(await adopted!.state()).toBe("running");
    await adopted!.kill();
    await vm.exited;
  });
});

describeRealBinary(FC, root, driver);
