// Boots the default guest (scripts/build-guest) with a plain QEMU command line and talks to its agent: proves the
// image, /init, the agent on its virtio-serial port and the host client work together before any driver is involved.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execInGuest, waitForAgent } from "../../src/hv/guest-agent/index.ts";

const REPO_DIR = join(import.meta.dir, "../..");
const GUEST_DIR = process.env.SNAPVISOR_GUEST_DIR ?? join(REPO_DIR, ".cache/guest");
/** A TCG boot takes ~2.5 s; leave room for a loaded CI machine. */
const BOOT_TIMEOUT_MS = 60_000;
const EXEC_TIMEOUT_MS = 10_000;

let dir: string;
let qemu: Bun.Subprocess | undefined;
let agentSocket: string;

async function run(argv: string[]): Promise<void> {
  const proc = Bun.spawn(argv, { stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`${argv.join(" ")} failed with exit code ${proc.exitCode}`);
}

beforeAll(async () => {
  await run(["bash", join(REPO_DIR, "scripts/build-guest"), GUEST_DIR]);
  const manifest = (await Bun.file(join(GUEST_DIR, "manifest.json")).json()) as { cmdline: string };
  dir = mkdtempSync(join(tmpdir(), "guest-boot-"));
  agentSocket = join(dir, "agent.sock");
  const disk = join(dir, "disk.qcow2");
  await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", join(GUEST_DIR, "rootfs.ext4"), disk]);

  const started = performance.now();
  qemu = Bun.spawn(
    [
      "qemu-system-x86_64",
      ...["-M", "pc-q35-7.2", "-accel", "tcg,thread=multi", "-cpu", "max", "-m", "256M", "-smp", "1"],
      ...["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"],
      ...["-kernel", join(GUEST_DIR, "vmlinuz"), "-initrd", join(GUEST_DIR, "initrd.img"), "-append", manifest.cmdline],
      // ttyS0: console into a file; the guest agent on a virtio-serial port named as the guest's init expects.
      ...["-chardev", `file,id=console,path=${join(dir, "serial.log")}`, "-serial", "chardev:console"],
      ...["-device", "virtio-serial-pci,id=agentbus", "-chardev", `socket,id=agent,path=${agentSocket},server=on,wait=off`],
      ...["-device", "virtserialport,bus=agentbus.0,chardev=agent,name=org.snapvisor.agent"],
      ...["-drive", `file=${disk},format=qcow2,if=none,id=disk0,cache=writeback`, "-device", "virtio-blk-pci,drive=disk0"],
    ],
    { stdout: "inherit", stderr: "inherit" },
  );
  await waitForAgent(agentSocket, { timeoutMs: BOOT_TIMEOUT_MS });
  console.log(`guest boot: qemu spawn -> agent answered in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}, BOOT_TIMEOUT_MS + 120_000);

afterAll(async () => {
  if (qemu) {
    qemu.kill("SIGKILL");
    await qemu.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("echo hello comes back on stdout with exit code 0", async () => {
  const result = await execInGuest(agentSocket, ["echo", "hello"], { timeoutMs: EXEC_TIMEOUT_MS });
  expect(result).toEqual({ exitCode: 0, stdout: "hello\n", stderr: "", stdoutTruncated: false, stderrTruncated: false });
});

test("a failing command reports its exit code and stderr separately", async () => {
  const result = await execInGuest(agentSocket, "ls /no-such-dir; exit 7", { timeoutMs: EXEC_TIMEOUT_MS });
  expect(result.exitCode).toBe(7);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("/no-such-dir");
});

test("the rootfs disk is mounted on /mnt", async () => {
  const result = await execInGuest(agentSocket, "cat /mnt/hello.txt", { timeoutMs: EXEC_TIMEOUT_MS });
  expect(result).toEqual({ exitCode: 0, stdout: "hello from the snapvisor rootfs\n", stderr: "", stdoutTruncated: false, stderrTruncated: false });
});

test("the tick counter in guest memory grows", async () => {
  const readTick = async () => {
    const result = await execInGuest(agentSocket, "cat /run/tick", { timeoutMs: EXEC_TIMEOUT_MS });
    expect(result.stdout).toMatch(/^\d+\n$/);
    return Number(result.stdout);
  };
  const first = await readTick();
  expect(first).toBeGreaterThanOrEqual(1);
  let later = first;
  // Polls instead of sleeping a fixed time: the guest ticks every 0.5 s of its own clock.
  while (later === first) {
    await Bun.sleep(250);
    later = await readTick();
  }
  expect(later).toBeGreaterThan(first);
  // The console tty turns \n into \r\n.
  const consoleLines = (await Bun.file(join(dir, "serial.log")).text()).split(/\r?\n/);
  expect(consoleLines.some((line) => line.startsWith("BOOT-MARKER uptime="))).toBe(true);
  expect(consoleLines).toContain(`tick ${first}`);
}, 30_000);
