// The QEMU driver: cold boot, restore from a snapshot dir (same hardware + `-incoming defer` + migrate-incoming),
// adoption of VMMs left by an earlier server process. Snapshots are QEMU migration streams written by QemuVm.
import { link, mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { HypervisorError, inStep, type Capabilities, type MemoryKind, type RamFile, type GuestLayout, type Hypervisor, type RestoreHost, type StartRequest, type StoredVm } from "../hypervisor.ts";
import { QmpClient, type QmpGreeting } from "./qmp-client.ts";
import { VmmSupervisor, vmmLogTail, type VmmProcess } from "../vmm-process.ts";
import { chooseAccel, kvmUsable, probeHost, type Accel, type AccelMode, type HostVirtualisation } from "./accel.ts";
import { QEMU_LAYOUT, incomingArgv, qemuArgv, qmpArg, type QemuMachine } from "./argv.ts";
import { IGNORE_SHARED, MAX_MIGRATION_BANDWIDTH, MEMORY_FILE, QemuVm, STATE_FILE } from "./qemu-vm.ts";
import { rebaseDisks, restoreRefusal, savedVm, verifyQemuSavedVm, type QemuSavedVm } from "./saved-vm.ts";
import { QemuBinary, qemuVersionOf } from "./version.ts";
import { withIdentityOf } from "../vm-identity.ts";
import { dropRam, freshRam, ramPath, reserveRam } from "./ram-file.ts";
import { restoreBootConfig } from "./restore-kernel.ts";

export const QEMU_DEFAULT_BINARY = "qemu-system-x86_64";
/** Pinned and versioned: a snapshot then loads into later QEMU versions too (qemu-notes.md §5). */
export const QEMU_DEFAULT_MACHINE = "pc-q35-7.2";
/** From spawn until QMP answers (measured ~50 ms; generous for loaded CI machines). */
export const QMP_READY_TIMEOUT_MS = 10_000;
/** Pause between attempts while QEMU has not created its QMP socket yet. */
export const QMP_CONNECT_RETRY_MS = 10;

export const QEMU_CAPABILITIES: Capabilities = { snapshot: true, standby: true, fork: true, pause: true, networkModes: ["user", "bridge"] };

/** The part of a logger the driver writes to (core's Logger fits). */
export interface DriverLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface QemuDriverOptions {
  binary?: string;
  accel?: AccelMode;
  machine?: string;
  logger?: DriverLogger;
  /** Shared with the other drivers so that one killAll() ends every VMM of the server; its own by default. */
  supervisor?: VmmSupervisor;
  /**
   * `file` (default, where QEMU has x-ignore-shared): guest RAM in a file in the guest dir, millisecond standbys,
   * forks sharing their snapshot's memory. `anonymous`: standby payloads are full migration streams.
   */
  memory?: "file" | "anonymous";
  /** Caps TCG's translation cache, in MiB (see accelArgs); QEMU's default (up to 1 GiB) when absent. */
  tcgCacheMib?: number;
}

export class QemuDriver implements Hypervisor {
  readonly type = "qemu" as const;
  readonly capabilities = QEMU_CAPABILITIES;
  readonly memoryFile = MEMORY_FILE;
  private readonly binary: QemuBinary;
  private readonly accel: AccelMode;
  private readonly machine: string;
  private readonly logger?: DriverLogger;
  private readonly supervisor: VmmSupervisor;
  private readonly fileBackedMemory: boolean;
  private readonly tcgCacheMib?: number;
  private host?: HostVirtualisation;

  constructor(options: QemuDriverOptions = {}) {
    this.binary = new QemuBinary(options.binary ?? QEMU_DEFAULT_BINARY);
    this.accel = options.accel ?? "auto";
    this.machine = options.machine ?? QEMU_DEFAULT_MACHINE;
    this.logger = options.logger;
    this.supervisor = options.supervisor ?? new VmmSupervisor();
    this.fileBackedMemory = (options.memory ?? "file") === "file";
    this.tcgCacheMib = options.tcgCacheMib;
  }

  layout(): GuestLayout {
    return { ...QEMU_LAYOUT };
  }

  async version(): Promise<string> {
    return (await this.binary.version()).text;
  }

  async start(req: StartRequest): Promise<QemuVm> {
    const version = await this.binary.version();
    const machine = this.machineFor(this.machine, chooseAccel(this.accel, this.hostVirtualisation()));
    const ram = (await this.fileMemoryUsable()) ? await freshRam(req.dir, req.config.memoryBytes) : undefined;
    const argv = qemuArgv(req.config, req.dir, machine, ram);
    return this.launch(req.dir, savedVm(version.text, req.config, { ...machine, argv, ...(ram ? { ram } : {}) }), "start");
  }

  /** Rebuilds the hardware from the snapshot's own record (not `req.config`): the memory only loads into that.
   * Only the identity (NIC backend, MAC, generation id) is `req.config`'s. */
  async restore(req: StartRequest & { snapshotDir: string; saved: StoredVm }): Promise<QemuVm> {
    const saved = await this.checkRestorable(req.saved);
    const machine = this.machineFor(saved.detail.machine, saved.detail.accel);
    const config = withIdentityOf(saved.config, req.config);
    const kind = saved.memoryKind ?? "migration-stream";
    const boot = await restoreBootConfig(config, req.dir);
    const ram = await this.ramForRestore(kind, req.snapshotDir, req.dir, config.memoryBytes);
    const argv = incomingArgv(boot, req.dir, machine, ram);
    const vm = await this.launch(req.dir, savedVm(await this.version(), config, { ...machine, argv, ...(ram ? { ram } : {}) }), "restore");
    try {
      await vm.load(join(req.snapshotDir, kind === "ram-file" ? STATE_FILE : MEMORY_FILE), kind);
    } catch (err) {
      await vm.kill();
      throw await explained("restore: load snapshot", err, req.dir);
    }
    this.logger?.info("QEMU resumed", { dir: req.dir, pid: vm.pid, memoryKind: kind, ram: ram ? (ram.share ? "own file" : "copy-on-write") : "anonymous" });
    return vm;
  }

  async checkRestorable(stored: StoredVm): Promise<QemuSavedVm> {
    const saved = verifyQemuSavedVm(stored);
    const [version, machines] = await Promise.all([this.binary.version(), this.binary.machines()]);
    const refusal = restoreRefusal(saved, { version: version.text, machines, kvmUsable: kvmUsable(this.hostVirtualisation()) });
    if (refusal) throw new HypervisorError("incompatible", refusal);
    if (saved.memoryKind === "ram-file" && !(await this.binary.migrationCapabilities()).has(IGNORE_SHARED)) {
      throw new HypervisorError(
        "not_supported",
        `snapshot memory is a RAM file saved with the ${IGNORE_SHARED} migration capability, which QEMU ${version.text} (${this.binary.path}) lacks`,
      );
    }
    return saved;
  }

  /**
   * Where a restored guest's RAM lives. A RAM-file payload's file is linked as the guest's RAM: mapped shared when
   * nothing else links it (the next standby again writes device state only), else copy-on-write (a snapshot's
   * file, shared by its forks, is never written). Every VMM holds such a link while it runs, so a file some VMM
   * maps copy-on-write never looks unshared to the next one. A stream is loaded into a fresh RAM file where this
   * QEMU can run one (the block is named as plain `-m` names it), so the guest runs file-backed from then on; else
   * into anonymous RAM as before. A file mapped shared gets its blocks reserved (see reserveRam).
   */
  private async ramForRestore(kind: MemoryKind, snapshotDir: string, dir: string, bytes: number): Promise<RamFile | undefined> {
    if (kind === "migration-stream") return (await this.fileMemoryUsable()) ? freshRam(dir, bytes) : undefined;
    const path = ramPath(dir);
    await rm(path, { force: true });
    const memory = join(snapshotDir, MEMORY_FILE);
    const shared = (await stat(memory)).nlink > 1;
    await link(memory, path);
    const ram = { path, share: !shared };
    if (ram.share) await reserveRam(ram, bytes);
    return ram;
  }

  private async fileMemoryUsable(): Promise<boolean> {
    return this.fileBackedMemory && (await this.binary.migrationCapabilities()).has(IGNORE_SHARED);
  }

  /** Restore rebuilds every guest-dir path from its own dir; only disks named by absolute path need moving. */
  async prepareFork(_snapshotDir: string, stored: StoredVm, fromDir: string, toDir: string): Promise<QemuSavedVm> {
    const saved = verifyQemuSavedVm(stored);
    return { ...saved, config: rebaseDisks(saved.config, fromDir, toDir) };
  }

  /**
   * Adopts the QEMU of `dir` if `pid` is still it. One that is ours but cannot be driven (no QMP, a launch
   * record that is not QEMU's) is ended rather than left running unmanaged.
   */
  async attach(dir: string, pid: number, launched: StoredVm): Promise<QemuVm | null> {
    const qmp = qmpArg(dir);
    const proc = this.supervisor.adopt(pid, (cmdline) => cmdline.some((arg, i) => arg === qmp && cmdline[i - 1] === "-qmp"));
    if (!proc) return null;
    try {
      const record = verifyQemuSavedVm(launched);
      const { client, greeting } = await connectQmp(dir, proc);
      const vm = new QemuVm(proc, client, qemuVersionOf(greeting.version.qemu), record);
      await vm.cancelOutgoingMigration();
      return vm;
    } catch (err) {
      await proc.stop();
      throw await explained("attach", err, dir);
    }
  }

  /** A launch that fails leaves no RAM file reserved: QemuVm, which drops it when QEMU ends, never came to be. */
  private async launch(dir: string, record: QemuSavedVm, step: string): Promise<QemuVm> {
    try {
      return await this.spawnAndConnect(dir, record, step);
    } catch (err) {
      if (record.detail.ram) await dropRam(record.detail.ram);
      throw err;
    }
  }

  private async spawnAndConnect(dir: string, record: QemuSavedVm, step: string): Promise<QemuVm> {
    let proc: VmmProcess;
    let startedAt: number;
    try {
      await mkdir(join(dir, "logs"), { recursive: true });
      // A stale socket would let us talk to nothing (or to a previous VMM) instead of the one we start.
      await Promise.all([QEMU_LAYOUT.controlSocket, QEMU_LAYOUT.agentSocket!].map((s) => rm(join(dir, s), { force: true })));
      startedAt = performance.now();
      proc = this.supervisor.spawn([this.binary.path, ...record.detail.argv], dir);
    } catch (err) {
      throw inStep(`${step}: spawn QEMU`, err);
    }
    try {
      const { client, greeting } = await connectQmp(dir, proc);
      await client.execute("migrate-set-parameters", { "max-bandwidth": MAX_MIGRATION_BANDWIDTH });
      await client.execute("migrate-set-capabilities", { capabilities: [{ capability: "events", state: true }] });
      this.logger?.info("QEMU ready", { step, dir, pid: proc.pid, qmpReadyMs: Math.round(performance.now() - startedAt) });
      return new QemuVm(proc, client, qemuVersionOf(greeting.version.qemu), record);
    } catch (err) {
      await proc.kill();
      throw await explained(step, err, dir);
    }
  }

  async restoreHost(): Promise<RestoreHost> {
    const [version, machines] = await Promise.all([this.binary.version(), this.binary.machines()]);
    return { version: version.text, machines: [...machines], accels: kvmUsable(this.hostVirtualisation()) ? ["kvm", "tcg"] : ["tcg"] };
  }

  private machineFor(machine: string, accel: Accel): QemuMachine {
    return { machine, accel, ...(this.tcgCacheMib === undefined ? {} : { tcgCacheMib: this.tcgCacheMib }) };
  }

  private hostVirtualisation(): HostVirtualisation {
    this.host ??= probeHost();
    return this.host;
  }
}

/** Connects to the QMP socket of `dir` as soon as QEMU has created it; a QEMU that dies first is an error. */
async function connectQmp(dir: string, proc: VmmProcess): Promise<{ client: QmpClient; greeting: QmpGreeting }> {
  const socket = join(dir, QEMU_LAYOUT.controlSocket);
  const deadline = performance.now() + QMP_READY_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited()) {
      throw new HypervisorError("failed", `QEMU exited (code ${await proc.exited}) before its QMP socket was ready`);
    }
    try {
      return await QmpClient.connect(socket);
    } catch (err) {
      // "gone": no socket yet, or refused; anything else (a greeting timeout, an error reply) is final.
      if (!(err instanceof HypervisorError && err.kind === "gone")) throw err;
      if (performance.now() > deadline) {
        throw new HypervisorError("timeout", `QMP socket ${socket} not ready within ${QMP_READY_TIMEOUT_MS} ms: ${err.message}`);
      }
    }
    await Promise.race([Bun.sleep(QMP_CONNECT_RETRY_MS), proc.exited]);
  }
}

/** Names the step and quotes what QEMU printed in this run (its reason for dying, usually). */
async function explained(step: string, err: unknown, dir: string): Promise<HypervisorError> {
  const tail = await vmmLogTail(dir);
  const error = inStep(step, err);
  return tail ? new HypervisorError(error.kind, `${error.message}\nQEMU log:\n${tail}`, { cause: err }) : error;
}
