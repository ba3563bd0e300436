import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VMM_LOG, VmmSupervisor, readCmdline, vmmLogTail } from "./vmm-process.ts";

const root = mkdtempSync(join(tmpdir(), "vmm-test-"));
const supervisor = new VmmSupervisor();
afterEach(() => supervisor.killAll(100));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
const guestDir = () => join(root, `g${dirs++}`);

/** A shell standing in for a VMM; `marker` makes its command line recognisable. */
const sh = (script: string, marker = "vmm-test") => ["/bin/sh", "-c", script, marker];

/** Right after spawn the child may not have exec'd yet (its command line is not the VMM's). */
async function execDone(pid: number): Promise<void> {
  while (readCmdline(pid)?.[0] !== "/bin/sh") await Bun.sleep(5);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("spawned VMMs", () => {
  test("exit code, and stdout + stderr appended to logs/vmm.log across runs", async () => {
    const dir = guestDir();
    expect(await supervisor.spawn(sh("echo first run; exit 0"), dir).exited).toBe(0);
    const vmm = supervisor.spawn(sh("echo to-stdout; echo to-stderr >&2; exit 3"), dir);
    expect(await vmm.exited).toBe(3);
    expect(vmm.hasExited()).toBe(true);
    const log = readFileSync(join(dir, VMM_LOG), "utf8");
    expect(log).toContain("first run");
    expect(log).toContain("to-stdout\nto-stderr\n");
    // The tail quotes only the latest run.
    expect(await vmmLogTail(dir)).toBe("to-stdout\nto-stderr");
  });

  test("stop: SIGTERM first; a VMM ignoring it is killed after the grace period", async () => {
    const polite = supervisor.spawn(sh("trap 'exit 7' TERM; while :; do sleep 0.05; done"), guestDir());
    await Bun.sleep(100); // let the shell install its trap
    await polite.stop(5_000);
    expect(await polite.exited).toBe(7);

    const stubborn = supervisor.spawn(sh("trap '' TERM; while :; do sleep 0.05; done"), guestDir());
    await Bun.sleep(100);
    await stubborn.stop(200);
    expect(await stubborn.exited).toBeNull(); // ended by a signal
    expect(alive(stubborn.pid)).toBe(false);
  });

  test("killAll ends every tracked VMM", async () => {
    const vmms = [1, 2, 3].map(() => supervisor.spawn(sh("trap '' TERM; sleep 60"), guestDir()));
    await Bun.sleep(100);
    await supervisor.killAll(200);
    expect(vmms.map((v) => v.hasExited())).toEqual([true, true, true]);
    expect(vmms.filter((v) => alive(v.pid))).toEqual([]);
  });
});

describe("adopting a VMM of an earlier server process", () => {
  test("a live process whose command line matches is adopted; its exit is noticed", async () => {
    // Started by another supervisor: to this one the process is a stranger, as after a server restart.
    const earlier = new VmmSupervisor();
    const orphan = earlier.spawn(sh("sleep 60; exit 0", "vmm-for-guest-42"), guestDir());
    await execDone(orphan.pid);
    expect(readCmdline(orphan.pid)).toEqual(["/bin/sh", "-c", "sleep 60; exit 0", "vmm-for-guest-42"]);

    expect(supervisor.adopt(orphan.pid, (cmd) => cmd.includes("vmm-for-guest-7"))).toBeNull();
    const adopted = supervisor.adopt(orphan.pid, (cmd) => cmd.includes("vmm-for-guest-42"))!;
    expect(adopted.pid).toBe(orphan.pid);
    expect(adopted.hasExited()).toBe(false);

    await adopted.kill();
    expect(adopted.hasExited()).toBe(true);
    expect(await adopted.exited).toBeNull(); // not our child: its status is not ours to read
    expect(await orphan.exited).toBeNull();
  });

  test("adopted VMMs are ended by killAll", async () => {
    const orphan = new VmmSupervisor().spawn(sh("sleep 60; exit 0", "adopt-killall"), guestDir());
    await execDone(orphan.pid);
    const adopted = supervisor.adopt(orphan.pid, (cmd) => cmd.includes("adopt-killall"))!;
    await supervisor.killAll(1_000);
    expect(adopted.hasExited()).toBe(true);
    expect(alive(orphan.pid)).toBe(false);
  });

  test("a pid that is gone (or a zombie) is not adopted", async () => {
    const done = supervisor.spawn(sh("exit 0"), guestDir());
    await done.exited;
    expect(supervisor.adopt(done.pid, () => true)).toBeNull();
  });
});

test("vmmLogTail of a dir without log is empty", async () => {
  expect(await vmmLogTail(guestDir())).toBe("");
});
