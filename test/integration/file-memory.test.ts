// QEMU guests on file-backed memory (issue #16), real guests: the RAM is a file in the guest dir, a standby writes
// device state only, forks of a snapshot map its RAM file copy-on-write and never write it, a fork that goes to
// standby gets a complete memory of its own, and GET /instances/{id} says how each guest's memory is held.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type TestService } from "../harness.ts";
import { bootCount, bootGuest, consoleTicks, exec, isContinuous, tick, vmmProcesses, waitForTicks, withGuestService } from "./guest.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

const guest = (id: string, ...rel: string[]) => join(svc.dataDir, "guests", id, ...rel);
const snapshotMemory = (id: string) => join(svc.dataDir, "snapshots", id, "guest", "standby", "memory");
const savedRecord = (dir: string) => JSON.parse(readFileSync(join(dir, "vm.json"), "utf8"));
const hash = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

const memoryOf = (ref: string) => memoryOfIn(svc, ref);

async function memoryOfIn(service: TestService, ref: string) {
  const res = await service.call("GET", `/instances/${ref}`);
  expect(res.status).toBe(200);
  return res.body.memory as { backing: string; shared_with_snapshot: string | null; private_bytes: number | null } | null;
}

describe("file-backed memory", () => {
  test("standby writes device state beside the RAM file; restore continues the counter on the same file", async () => {
    const { id } = await bootGuest(svc, "filemem");
    expect(existsSync(guest(id, "ram"))).toBe(true);
    expect(await memoryOf(id)).toMatchObject({ backing: "file", shared_with_snapshot: null });
    await waitForTicks(svc, id, 3);

    expect((await svc.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
    const standby = guest(id, "standby");
    expect(savedRecord(standby)).toMatchObject({ memory_kind: "ram-file", memory_file: "memory" });
    // The RAM file is the guest's whole memory, sparse; the state file is device state alone.
    expect(statSync(join(standby, "memory")).size).toBe(256 * 1024 * 1024);
    expect(statSync(join(standby, "state")).size).toBeLessThan(4 * 1024 * 1024);
    expect(existsSync(guest(id, "ram"))).toBe(false);
    expect(await memoryOf(id)).toBeNull();
    const ino = statSync(join(standby, "memory")).ino;
    const before = await consoleTicks(svc, id);

    expect((await svc.call("POST", `/instances/${id}/restore`)).body.state).toBe("Running");
    // Its own file again, mapped shared: the same inode, no copy.
    expect(statSync(guest(id, "ram")).ino).toBe(ino);
    expect(await memoryOf(id)).toMatchObject({ backing: "file", shared_with_snapshot: null });
    await waitForTicks(svc, id, before.length + 2);
    expect(isContinuous(await consoleTicks(svc, id))).toBe(true);
    expect(await tick(svc, id)).toBeGreaterThanOrEqual(before.at(-1)!);
    expect(await bootCount(svc, id)).toBe(1);
  });

  test("two forks of a snapshot diverge; the snapshot's RAM file keeps its bytes and its shared inode", async () => {
    await bootGuest(svc, "fm-parent");
    await exec(svc, "fm-parent", "echo parent > /run/who");
    const snap = await svc.call("POST", "/instances/fm-parent/snapshots", { kind: "Standby", name: "fm-base" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    // The parent was paused for a copy of its RAM, not ended: it runs on its own file still.
    expect(await memoryOf("fm-parent")).toMatchObject({ backing: "file", shared_with_snapshot: null });
    const file = snapshotMemory(snap.body.id);
    const digest = hash(file);
    const ino = statSync(file).ino;

    const forks = [];
    for (const name of ["fm-a", "fm-b"]) {
      const res = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ state: "Running", memory: { backing: "file", shared_with_snapshot: snap.body.id } });
      forks.push(res.body.id as string);
    }
    for (const [i, id] of forks.entries()) {
      expect((await exec(svc, id, "cat /run/who")).stdout).toBe("parent\n");
      // Dirty a few MiB of guest RAM, different in each fork.
      await exec(svc, id, `echo fork-${i} > /run/who; dd if=/dev/urandom of=/run/noise bs=1M count=4 2>/dev/null`);
      // The fork's RAM name links the snapshot's inode (held while the VMM runs).
      expect(statSync(guest(id, "ram")).ino).toBe(ino);
    }
    for (const [i, id] of forks.entries()) expect((await exec(svc, id, "cat /run/who")).stdout).toBe(`fork-${i}\n`);
    expect((await exec(svc, "fm-parent", "cat /run/who")).stdout).toBe("parent\n");
    expect(hash(file)).toBe(digest);
    expect(statSync(file).ino).toBe(ino);
    const fork = await memoryOf(forks[0]!);
    expect(fork!.private_bytes).toBeGreaterThan(0);
    expect(fork!.private_bytes!).toBeLessThan(256 * 1024 * 1024);

    // The host memory metrics read the VMMs themselves: three running guests of 256 MiB, two of them sharing the
    // snapshot's RAM, are not counted as three guests' worth.
    const running = (await svc.call("GET", "/instances")).body.filter((i: { state: string }) => i.state === "Running").length;
    const text = (await svc.call("GET", "/metrics")).body as string;
    const metric = (name: string) => Number(new RegExp(`^snapvisor_${name} (\\S+)$`, "m").exec(text)?.[1]);
    expect(metric("vmms")).toBe(running);
    expect(metric("vmm_memory_pss_bytes")).toBeGreaterThan(0);
    expect(metric("vmm_memory_pss_bytes")).toBeLessThan(running * 256 * 1024 * 1024);
    expect(metric("vmm_memory_private_bytes")).toBeGreaterThan(fork!.private_bytes! / 2);
  });

  test("a fork gets memory of its own at its standby, keeps its state across restore, and a snapshot of it restores", async () => {
    await bootGuest(svc, "fm-src");
    const snap = await svc.call("POST", "/instances/fm-src/snapshots", { kind: "Standby", name: "fm-src-base" });
    const file = snapshotMemory(snap.body.id);
    const digest = hash(file);
    const made = await svc.call("POST", `/snapshots/${snap.body.id}/fork`, { name: "fm-child" });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body.id as string;
    await exec(svc, id, "echo mine > /run/state");

    expect((await svc.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
    // Copy-on-write RAM is not the fork's file to keep: the whole memory goes into a stream of its own.
    expect(savedRecord(guest(id, "standby"))).toMatchObject({ memory_kind: "migration-stream" });
    expect(statSync(guest(id, "standby", "memory")).ino).not.toBe(statSync(file).ino);
    expect((await svc.call("POST", `/instances/${id}/restore`)).body.state).toBe("Running");
    expect((await exec(svc, id, "cat /run/state")).stdout).toBe("mine\n");
    // From now on it runs on a RAM file of its own.
    expect(await memoryOf(id)).toMatchObject({ backing: "file", shared_with_snapshot: null });
    expect(hash(file)).toBe(digest);

    const second = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "of-child" });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    await exec(svc, id, "echo later > /run/state");
    const grandchild = await svc.call("POST", `/snapshots/${second.body.id}/fork`, { name: "fm-grandchild" });
    expect(grandchild.status, JSON.stringify(grandchild.body)).toBe(201);
    expect((await exec(svc, "fm-grandchild", "cat /run/state")).stdout).toBe("mine\n");
    expect((await exec(svc, id, "cat /run/state")).stdout).toBe("later\n");
  });
});

describe("what a restored QEMU holds", () => {
  test("a restore is given the kernel's boot header, not the boot payload; a guest that then reboots ends Stopped and boots again from its kernel", async () => {
    const { id } = await bootGuest(svc, "fm-reboot");
    expect((await svc.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
    expect((await svc.call("POST", `/instances/${id}/restore`)).body.state).toBe("Running");
    const [pid] = vmmProcesses(guest(id));
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const kernel = argv[argv.indexOf("-kernel") + 1]!;
    // QEMU keeps -kernel and -initrd in its own memory for the process's life (~15 MB for the default image).
    expect(statSync(kernel).size).toBeLessThan(64 * 1024);
    expect(argv).not.toContain("-initrd");
    expect(await tick(svc, id)).toBeGreaterThan(0);
    // The stand-in is the VMM's, not payload.
    const snap = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "fm-reboot-snap" });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    expect(existsSync(join(svc.dataDir, "snapshots", snap.body.id, "guest", "restore-kernel"))).toBe(false);

    // -no-reboot: a reboot ends QEMU rather than booting the header.
    await svc.call("POST", `/instances/${id}/exec`, { command: "reboot -f", timeout_ms: 5_000 });
    const deadline = Date.now() + 30_000;
    while ((await svc.call("GET", `/instances/${id}`)).body.state !== "Stopped") {
      if (Date.now() > deadline) throw new Error("the rebooted guest's instance never became Stopped");
      await Bun.sleep(200);
    }
    expect(vmmProcesses(guest(id))).toEqual([]);
    expect((await svc.call("POST", `/instances/${id}/start`)).body.state).toBe("Running");
    expect(await bootCount(svc, id)).toBe(2);
    expect(await tick(svc, id)).toBeGreaterThanOrEqual(0);
  });
});

describe("payloads written before file-backed memory", () => {
  test("a migration-stream standby and snapshot, records as the old server wrote them, restore and fork", async () => {
    // The still-supported anonymous-memory path writes today's stream payloads; their records lose memory_kind.
    const dataDir = mkdtempSync(join(tmpdir(), "sv-stream-"));
    const old = await startService({ dataDir, hypervisors: { qemu: { memory: "anonymous" } } });
    let id: string;
    let snapId: string;
    try {
      id = (await bootGuest(old, "streamed")).id;
      await exec(old, id, "echo from-stream > /run/state");
      await waitForTicks(old, id, 3);
      expect(await memoryOfIn(old, id)).toMatchObject({ backing: "stream", shared_with_snapshot: null });
      expect((await old.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
      snapId = (await old.call("POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "streamed" })).body.id;
    } finally {
      await old.close();
    }
    const standbys = [join(dataDir, "guests", id, "standby"), join(dataDir, "snapshots", snapId, "guest", "standby")];
    for (const dir of standbys) {
      const { memory_kind, ...record } = savedRecord(dir);
      expect(memory_kind).toBe("migration-stream");
      expect(record.detail.ram).toBeUndefined();
      expect(existsSync(join(dir, "state"))).toBe(false);
      writeFileSync(join(dir, "vm.json"), `${JSON.stringify(record, null, 2)}\n`);
    }

    const now = await startService({ dataDir });
    try {
      const ticksBefore = await consoleTicks(now, id);
      const restored = await now.call("POST", `/instances/${id}/restore`);
      expect(restored.status, JSON.stringify(restored.body)).toBe(200);
      expect((await exec(now, id, "cat /run/state")).stdout).toBe("from-stream\n");
      await waitForTicks(now, id, ticksBefore.length + 2);
      expect(isContinuous(await consoleTicks(now, id))).toBe(true);
      // The stream was loaded into a RAM file of the guest's own: its next standby is device state only.
      expect(restored.body.memory).toMatchObject({ backing: "file", shared_with_snapshot: null });
      expect((await now.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
      expect(savedRecord(join(dataDir, "guests", id, "standby"))).toMatchObject({ memory_kind: "ram-file" });

      const fork = await now.call("POST", `/snapshots/${snapId}/fork`, { name: "streamed-fork" });
      expect(fork.status, JSON.stringify(fork.body)).toBe(201);
      expect((await exec(now, "streamed-fork", "cat /run/state")).stdout).toBe("from-stream\n");
    } finally {
      await now.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
