// What start-up decides for each VMM process naming a control socket in the data dir, with a stub driver and
// stand-in processes (no hypervisor): every one is adopted or ended, and no instance is left in a transitional state.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hypervisor, RunningVm, SavedVm, StoredVm, VmState } from "../../hv/hypervisor.ts";
import { writeLaunchRecord, writeSavedVm } from "../../store/payload/vm-record.ts";
import { registerFakeImage, startService, type TestService } from "../../../test/harness.ts";

const launched: SavedVm = { hypervisor: "qemu", version: "7.2.22", config: { vcpus: 1, memoryBytes: 1 << 28, kernel: "k", cmdline: "", disks: [], guestAgent: true, agentChannel: "virtio-serial" } };
/** The state each stand-in VMM reports, by pid; resume makes it running. */
const states = new Map<number, VmState>();
const attachedWith = new Map<number, StoredVm>();

function stubVm(pid: number, saved: SavedVm): RunningVm {
  const exited = new Promise<number | null>((resolve) => {
    const timer = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(timer);
        resolve(null);
      }
    }, 20);
  });
  const kill = async () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
    await exited;
  };
  return {
    pid,
    exited,
    launched: saved,
    state: async () => states.get(pid) ?? "shutdown",
    pause: async () => void states.set(pid, "paused"),
    resume: async () => void states.set(pid, "running"),
    snapshot: async () => saved,
    shutdown: kill,
    kill,
  };
}

const stub: Hypervisor = {
  type: "qemu",
  capabilities: { snapshot: true, standby: true, fork: true, pause: true, networkModes: [] },
  memoryFile: "memory",
  layout: () => ({ controlSocket: "qmp.sock", agentSocket: "agent.sock", serialLog: "logs/serial.log" }),
  version: async () => launched.version,
  start: () => Promise.reject(new Error("not in this test")),
  restore: () => Promise.reject(new Error("not in this test")),
  checkRestorable: async (saved) => saved as SavedVm,
  prepareFork: async (_dir, saved) => saved as SavedVm,
  async attach(_dir, pid, record) {
    attachedWith.set(pid, record);
    return stubVm(pid, record as SavedVm);
  },
};

let svc: TestService;
const spawned: Bun.Subprocess[] = [];
/** A stand-in VMM: a process whose command line names `<guest dir>/qmp.sock`, as QEMU's does. */
function standIn(guestDir: string, state: VmState): number {
  const proc = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 60_000)", `unix:${join(guestDir, "qmp.sock")},server=on,wait=off`], { stdout: "ignore", stderr: "ignore" });
  spawned.push(proc);
  states.set(proc.pid, state);
  return proc.pid;
}
/** Resolves once the stand-in is gone (a test waiting on one that was left running fails by its timeout). */
const ended = async (pid: number) => {
  await spawned.find((p) => p.pid === pid)!.exited;
  return true;
};

const cases: Record<string, { id: string; pid: number }> = {};

beforeAll(async () => {
  svc = await startService({ drivers: { qemu: stub }, timeouts: { agentReadyMs: 300 } });
  await registerFakeImage(svc);
  const make = async (name: string, state: VmState, opts: { skipAgent?: boolean; standby?: "complete" | "partial"; launchRecord?: boolean } = {}) => {
    const res = await svc.call("POST", "/instances", { name, image: "fake", size: "256MB", overlay_size: "64MB", skip_guest_agent: opts.skipAgent ?? false });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const dir = join(svc.dataDir, "guests", res.body.id);
    if (opts.launchRecord !== false) await writeLaunchRecord(dir, launched, new Date());
    if (opts.standby) {
      mkdirSync(join(dir, "standby"));
      writeFileSync(join(dir, "standby/memory"), "memory");
      if (opts.standby === "complete") await writeSavedVm(join(dir, "standby"), launched, "memory", new Date());
    }
    cases[name] = { id: res.body.id, pid: standIn(dir, state) };
  };
  await make("silent-agent", "running");
  await make("saved", "paused", { standby: "complete" });
  await make("half-saved", "paused", { standby: "partial", skipAgent: true });
  await make("loading", "created", { standby: "complete" });
  await make("unrecorded", "running", { launchRecord: false });
  cases.orphan = { id: "nosuchinstance", pid: standIn(join(svc.dataDir, "guests", "nosuchinstance"), "running") };
  await svc.sv.stop();
  svc = await startService({ dataDir: svc.dataDir, drivers: { qemu: stub }, timeouts: { agentReadyMs: 300 } });
});
afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  try {
    await svc.close();
  } finally {
    // The second service was handed the first one's data dir, so its close leaves the dir in place.
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
});

const view = async (name: string) => (await svc.call("GET", `/instances/${name}`)).body;

describe("start-up adopts or ends every VMM of the data dir", () => {
  test("running, but its agent never answers: ended, Stopped with a state error saying why", async () => {
    expect(await view("silent-agent")).toMatchObject({ state: "Stopped", state_error: expect.stringContaining("guest agent did not answer") });
    expect(await ended(cases["silent-agent"]!.pid)).toBe(true);
    expect(attachedWith.get(cases["silent-agent"]!.pid)).toMatchObject({ hypervisor: "qemu", version: "7.2.22" });
  });

  test("paused beside a complete standby payload: ended, Standby", async () => {
    expect(await view("saved")).toMatchObject({ state: "Standby", state_error: null });
    expect(await ended(cases.saved!.pid)).toBe(true);
  });

  test("paused with a partial standby payload: the payload goes, the guest resumes and is adopted Running", async () => {
    const inst = await view("half-saved");
    expect(inst).toMatchObject({ state: "Running", has_snapshot: false });
    expect(existsSync(`/proc/${cases["half-saved"]!.pid}`)).toBe(true);
  });

  test("still loading its memory: ended, the standby stays", async () => {
    expect(await view("loading")).toMatchObject({ state: "Standby" });
    expect(await ended(cases.loading!.pid)).toBe(true);
  });

  test("without a launch record (it cannot be driven), or without an instance: ended", async () => {
    expect(await view("unrecorded")).toMatchObject({ state: "Stopped" });
    expect(await ended(cases.unrecorded!.pid)).toBe(true);
    expect(attachedWith.has(cases.unrecorded!.pid)).toBe(false);
    expect(await ended(cases.orphan!.pid)).toBe(true);
  });
});
