// The whole standby → restore → snapshot → fork → compressed standby → restore flow, driven through the HTTP API
// and core, for the Cloud Hypervisor and Firecracker drivers against their fake VMM processes. Asserts the actions
// each VMM process was asked for (grouped by pid, in order; state reads aside), that every call is a request the official spec
// allows, that every restore continued the same guest (the fake's guest identity), that the fork shares the
// snapshot's memory inode and runs from its own dir, and that nothing is left running afterwards.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CloudHypervisorDriver } from "../../src/hv/cloud-hypervisor/driver.ts";
import { FirecrackerDriver } from "../../src/hv/firecracker/driver.ts";
import type { Hypervisor } from "../../src/hv/hypervisor.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import type { JobKey } from "../../src/store/jobs-repo.ts";
import type { LoggedCall } from "../fakes/fake-vmm.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";
import { cloudHypervisorSpec, firecrackerSpec, type SpecValidator } from "./openapi-specs.ts";
import { callLine, fakeTarget, removeScratch, scratchDir, type VmmName } from "./vmm-targets.ts";

/** Compressing a sparse 128 MiB fake memory file takes well under a second; this only bounds a hung job. */
const COMPRESSION_WAIT_MS = 30_000;
const COMPRESSION_POLL_MS = 20;
const FLOW_TIMEOUT_MS = 60_000;

interface DriverCase {
  name: VmmName;
  memoryFile: string;
  driver(command: string[], supervisor: VmmSupervisor): Hypervisor;
  spec(): SpecValidator;
  /** Cold boot, up to a running guest. */
  boot: string[];
  /** A fresh process loading the standby files, up to a running guest. */
  restore: string[];
  /** Core reading the VM's state (any number of times; not an action). */
  stateRead: string;
  /** Pause and write the standby files (the process is then killed by signal: no call). */
  standby: string[];
  /** The path of the call that loads standby files into a fresh process. */
  loadPath: string;
  /** What that call must name when it loads the standby dir `dir`. */
  loadNames(dir: string, memoryFile: string): Record<string, unknown>;
  /** Where the fork's restored VMM writes its serial console (proves it runs from the fork's dir). */
  serialLog: string;
  restoredLine(guest: string): string;
}

const ch = (path: string) => `/api/v1${path}`;

const CASES: DriverCase[] = [
  {
    name: "cloud-hypervisor",
    memoryFile: "memory-ranges",
    driver: (command, supervisor) => new CloudHypervisorDriver({ command, supervisor }),
    spec: () => cloudHypervisorSpec(53),
    boot: [`GET ${ch("/vmm.ping")}`, `PUT ${ch("/vm.create")}`, `PUT ${ch("/vm.boot")}`],
    // v53 resumes on restore (`resume: true`); the driver checks that it did.
    restore: [`GET ${ch("/vmm.ping")}`, `PUT ${ch("/vm.restore")}`, `GET ${ch("/vm.info")}`],
    stateRead: `GET ${ch("/vm.info")}`,
    standby: [`PUT ${ch("/vm.pause")}`, `PUT ${ch("/vm.snapshot")}`],
    loadPath: ch("/vm.restore"),
    loadNames: (dir) => ({ source_url: `file://${dir}` }),
    serialLog: "logs/serial.log",
    restoredLine: (guest) => `fake-ch restored guest=${guest}`,
  },
  {
    name: "firecracker",
    memoryFile: "memory",
    driver: (command, supervisor) => new FirecrackerDriver({ command, supervisor }),
    spec: firecrackerSpec,
    boot: ["GET /", "PUT /boot-source", "PUT /machine-config", "PUT /drives/disk0", "PUT /actions InstanceStart"],
    restore: ["GET /", "PUT /snapshot/load", "PATCH /vm Resumed"],
    stateRead: "GET /",
    standby: ["PATCH /vm Paused", "PUT /snapshot/create"],
    loadPath: "/snapshot/load",
    loadNames: (dir, memoryFile) => ({ snapshot_path: join(dir, "state"), mem_backend: { backend_type: "File", backend_path: join(dir, memoryFile) } }),
    serialLog: "logs/vmm.log",
    restoredLine: (guest) => `fake-fc restored guest=${guest}`,
  },
];

const supervisor = new VmmSupervisor();
const scratches: string[] = [];

afterAll(async () => {
  await supervisor.killAll();
  for (const dir of scratches) removeScratch(dir);
});

/** Calls grouped by VMM process, processes in the order they first answered. */
function byProcess(calls: LoggedCall[]): LoggedCall[][] {
  const groups = new Map<number, LoggedCall[]>();
  for (const call of calls) groups.set(call.pid, [...(groups.get(call.pid) ?? []), call]);
  return [...groups.values()];
}

/** "METHOD path", plus the verb for Firecracker's multiplexed /actions and /vm calls. */
function line(call: LoggedCall): string {
  const body = call.body as { action_type?: string; state?: string } | null;
  const verb = call.path === "/actions" ? body?.action_type : call.path === "/vm" ? body?.state : undefined;
  return verb === undefined ? callLine(call) : `${callLine(call)} ${verb}`;
}

function expectOk<T = any>(res: { status: number; body: T }, status: number): T {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  return res.body;
}

async function untilCompressed(svc: TestService, key: JobKey): Promise<string | undefined> {
  const deadline = performance.now() + COMPRESSION_WAIT_MS;
  let state = svc.sv.core.compression.state(key);
  while ((state === "pending" || state === "running") && performance.now() < deadline) {
    await Bun.sleep(COMPRESSION_POLL_MS);
    state = svc.sv.core.compression.state(key);
  }
  return state;
}

function fakeProcessesUnder(dir: string): string {
  const found = Bun.spawnSync(["pgrep", "-af", dir]);
  return found.stdout.toString().trim();
}

for (const c of CASES) {
  describe(`${c.name}: the core flow against the fake VMM`, () => {
    test(
      "standby → restore → standby snapshot → fork (Standby, hard-linked) → restore fork → compressed standby → restore → delete",
      async () => {
        const scratch = scratchDir("sv-cf-");
        scratches.push(scratch);
        const fake = fakeTarget(c.name, scratch);
        const svc = await startService({
          drivers: { [c.name]: c.driver(fake.command, supervisor) },
          // No default image: the flow needs only the placeholder image, and qemu is absent on purpose.
          guestImageDir: join(scratch, "no-default-image"),
        });
        try {
          const paths = svc.sv.core.paths;
          await registerFakeImage(svc);
          expect(svc.sv.core.hypervisors).toEqual({ [c.name]: expect.anything() });
          const qemu = await svc.call("POST", "/instances", { name: "on-qemu", image: "fake", size: "128MB", overlay_size: "16MB", hypervisor: "qemu" });
          expect(qemu.status).toBe(501);

          // 1. Create and cold-boot. These drivers have no agent channel, so the instance runs without one.
          const created = expectOk(
            await svc.call("POST", "/instances", { name: "src", image: "fake", size: "128MB", overlay_size: "16MB", hypervisor: c.name }),
            201,
          );
          expect(created).toMatchObject({ state: "Stopped", hypervisor: c.name });
          const id: string = created.id;
          expect(svc.sv.core.instances.get(id)!.skipGuestAgent).toBe(true);
          expect(expectOk(await svc.call("POST", `/instances/${id}/start`), 200).state).toBe("Running");

          // 2. Standby writes the driver's memory file; restore continues the same guest.
          const standbyDir = join(paths.guest(id), "standby");
          expect(expectOk(await svc.call("POST", `/instances/${id}/standby`), 200)).toMatchObject({ state: "Standby", has_snapshot: true });
          expect(existsSync(join(standbyDir, c.memoryFile))).toBe(true);
          expect(expectOk(await svc.call("POST", `/instances/${id}/restore`), 200)).toMatchObject({ state: "Running", has_snapshot: false });
          expect(existsSync(standbyDir)).toBe(false);

          // 3. A standby snapshot of the running instance; it is Running again afterwards.
          const snapshot = expectOk(await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "snap" }), 201);
          expect(snapshot).toMatchObject({ kind: "Standby", source_hypervisor: c.name, compression_state: "none" });
          expect(expectOk(await svc.call("GET", `/instances/${id}`), 200).state).toBe("Running");
          const snapshotMemory = join(paths.snapshotGuest(snapshot.id), "standby", c.memoryFile);
          expect(existsSync(snapshotMemory)).toBe(true);

          // Fork into Standby: the memory is the snapshot's inode, not a copy.
          const fork = expectOk(await svc.call("POST", `/snapshots/${snapshot.id}/fork`, { name: "fork", target_state: "Standby" }), 201);
          expect(fork).toMatchObject({ state: "Standby", fork_of_snapshot: snapshot.id, hypervisor: c.name });
          const forkDir = paths.guest(fork.id);
          const forkMemory = join(forkDir, "standby", c.memoryFile);
          expect(statSync(forkMemory).ino).toBe(statSync(snapshotMemory).ino);
          expect(statSync(forkMemory).nlink).toBeGreaterThanOrEqual(2);
          // Its saved VM names only its own dir (CH keeps absolute disk and console paths in config.json).
          const forkStandbyFiles = readdirSync(join(forkDir, "standby")).filter((file) => file !== c.memoryFile);
          for (const file of forkStandbyFiles) {
            const text = readFileSync(join(forkDir, "standby", file), "utf8");
            expect({ file, namesSource: text.includes(paths.guest(id)), namesPayload: text.includes(paths.snapshotGuest(snapshot.id)) }).toEqual({
              file,
              namesSource: false,
              namesPayload: false,
            });
          }
          const sourceConsole = join(paths.guest(id), c.serialLog);
          const sourceLinesBefore = readFileSync(sourceConsole, "utf8");
          expect(expectOk(await svc.call("POST", `/instances/${fork.id}/restore`), 200).state).toBe("Running");
          // The fork's VMM must not use the source's files (its disk, its console).
          expect(readFileSync(sourceConsole, "utf8")).toBe(sourceLinesBefore);

          // 4. Standby with zstd: the raw memory is replaced by <memoryFile>.zst, and restore decompresses it.
          expect(
            expectOk(await svc.call("POST", `/instances/${id}/standby`, { compression: { enabled: true, algorithm: "zstd" } }), 200).state,
          ).toBe("Standby");
          expect(await untilCompressed(svc, { kind: "instance", id })).toBe("compressed");
          expect(existsSync(join(standbyDir, c.memoryFile))).toBe(false);
          expect(statSync(join(standbyDir, `${c.memoryFile}.zst`)).size).toBeGreaterThan(0);
          expect(expectOk(await svc.call("POST", `/instances/${id}/restore`), 200).state).toBe("Running");

          // 5. What each VMM process was asked to do, in order. State reads are left out: how often core looks
          // at a VM is its own business, not part of the contract with the VMM.
          const calls = fake.calls();
          const processes = byProcess(calls);
          const actions = (lines: string[]) => lines.filter((l) => l !== c.stateRead);
          expect(processes.map((p) => actions(p.map(line)))).toEqual(
            [
              [...c.boot, ...c.standby], // start, standby
              [...c.restore, ...c.standby], // restore, snapshot capture (internal standby)
              [...c.restore, ...c.standby], // back to Running after the capture copy, compressed standby
              c.restore, // the fork, restored, then killed by its delete
              c.restore, // restored from the decompressed memory, then killed by its delete
            ].map(actions),
          );
          const spec = c.spec();
          for (const call of calls) {
            const problems = spec.checkRequest(call.method, call.path, call.body);
            expect({ call: callLine(call), succeeded: call.status < 300, problems }).toEqual({ call: callLine(call), succeeded: true, problems: [] });
          }

          // Every boot, snapshot and restore saw one guest: each restore continued the VM that was saved.
          const guests = calls.filter((call) => call.guest !== undefined);
          const guest = guests[0]!.guest!;
          expect(new Set(guests.map((call) => call.guest))).toEqual(new Set([guest]));
          const loads = calls.filter((call) => call.path === c.loadPath);
          expect(loads.map((call) => call.guest)).toEqual([guest, guest, guest, guest]);

          // The fork's VMM ran from the fork's own dir: its load named the fork's files, and its console is there.
          expect(loads[2]!.pid).toBe(processes[3]![0]!.pid);
          expect(loads[2]!.body).toMatchObject(c.loadNames(join(forkDir, "standby"), c.memoryFile));
          expect(readFileSync(join(forkDir, c.serialLog), "utf8")).toContain(c.restoredLine(guest));

          // 6. Delete everything: no VMM is left and the data dir holds nothing of the flow.
          expect((await svc.call("DELETE", `/instances/${fork.id}`)).status).toBe(204);
          expect((await svc.call("DELETE", `/instances/${id}`)).status).toBe(204);
          expect((await svc.call("DELETE", `/snapshots/${snapshot.id}`)).status).toBe(204);
          expect(existsSync(forkDir) || existsSync(paths.guest(id)) || existsSync(paths.snapshot(snapshot.id))).toBe(false);
          expect(fakeProcessesUnder(scratch)).toBe("");
          // Deletes end VMMs by signal, without API calls.
          expect(fake.calls()).toHaveLength(calls.length);
        } finally {
          await svc.close();
        }
      },
      FLOW_TIMEOUT_MS,
    );
  });
}
