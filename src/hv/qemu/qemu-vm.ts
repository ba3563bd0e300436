// One running QEMU, driven over QMP: pause/resume, state, snapshot by migrating to a file, loading such a file
// into a VMM started with `-incoming defer`, and ending the process. A guest whose RAM is a shared file snapshots
// by migrating its device state alone (`x-ignore-shared`) and keeping (or copying) the file.
import { existsSync } from "node:fs";
import { link } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir, fsyncFile } from "../../fs/atomic.ts";
import { fillDurably } from "../../fs/fill-durably.ts";
import { sparseCopyFile } from "../../fs/sparse-copy.ts";
import { shellQuote } from "../shell-quote.ts";
import { HypervisorError, inStep, type MemoryKind, type RamFile, type RunningVm, type SavedVm, type SnapshotOptions, type VmState } from "../hypervisor.ts";
import type { QmpClient } from "./qmp-client.ts";
import type { VmmProcess } from "../vmm-process.ts";
import type { QemuSavedVm } from "./saved-vm.ts";
import { supportsFileMigration, type QemuVersion } from "./version.ts";
import { dropRam } from "./ram-file.ts";
import { receiveStream } from "./stream-receiver.ts";

export const MEMORY_FILE = "memory";
/** Beside a RAM-file payload's memory: the device state (`x-ignore-shared` leaves the RAM out of the stream). */
export const STATE_FILE = "state";
/** The migration capability that leaves shared file-backed RAM out of the stream. */
export const IGNORE_SHARED = "x-ignore-shared";
/** Upper bound for writing or loading guest memory (~0.2 s per GiB measured; slow disks and big guests vary). */
export const MIGRATION_TIMEOUT_MS = 600_000;
/** From `cont` to the RESUME event. */
export const RESUME_TIMEOUT_MS = 30_000;
/** Time a VMM gets to exit after QMP `quit` before it is signalled. */
export const QUIT_GRACE_MS = 5_000;
/** How often the memory file is checked while the exec: writer finishes. */
const MEMORY_FILE_POLL_MS = 5;
/** 1 TiB/s, i.e. unlimited: QEMU 7.2's default of 128 MiB/s makes a standby ~5x slower (qemu-notes.md §3). */
export const MAX_MIGRATION_BANDWIDTH = 1024 ** 4;

const MIGRATION_ENDS = new Set(["completed", "failed", "cancelled"]);

/** QMP `query-status` run states mapped to ours. */
export function vmStateOf(status: string): VmState {
  switch (status) {
    case "prelaunch":
    case "inmigrate":
      return "created";
    case "running":
      return "running";
    case "shutdown":
    case "guest-panicked":
    case "internal-error":
      return "shutdown";
    default:
      // paused, postmigrate, finish-migrate, suspended, io-error, watchdog, debug…: not executing, resumable.
      return "paused";
  }
}

/**
 * Where `migrate` writes. QEMU < 8.2 has no `file:` URI; its `exec:` helper may still be writing when the
 * MIGRATION event says completed, so it writes a temp name and renames when done, and we wait for the name.
 */
export function outgoingUri(version: QemuVersion, memoryPath: string): string {
  if (supportsFileMigration(version)) return `file:${memoryPath}`;
  const partial = shellQuote(`${memoryPath}.partial`);
  return `exec:cat > ${partial} && mv -f ${partial} ${shellQuote(memoryPath)}`;
}

/** Where `migrate-incoming` reads. Both forms only read the file (it may be hard-linked into other guests). */
export function incomingUri(version: QemuVersion, memoryPath: string): string {
  return supportsFileMigration(version) ? `file:${memoryPath}` : `exec:cat ${shellQuote(memoryPath)}`;
}

export class QemuVm implements RunningVm {
  constructor(
    private readonly process: VmmProcess,
    private readonly qmp: QmpClient,
    /** The running QEMU's own version (from its QMP greeting). */
    private readonly qemuVersion: QemuVersion,
    /** The hardware it runs: what a snapshot records. */
    readonly launched: QemuSavedVm,
  ) {
    // The RAM file's name is this VMM's link to its memory: once the process is gone it is garbage (a standby
    // has linked the file into its payload by then, durable, and gets back the blocks reserved for pages never
    // written; a copy-on-write mapper's file belongs to a snapshot).
    const ram = launched.detail.ram;
    this.gone = process.exited.finally(async () => {
      qmp.close();
      if (ram) await dropRam(ram);
    });
  }

  private readonly gone: Promise<number | null>;

  get pid(): number {
    return this.process.pid;
  }

  get exited(): Promise<number | null> {
    return this.gone;
  }

  /** Where the guest's RAM is: a file (shared, or copy-on-write over someone else's) or anonymous memory. */
  get ramFile(): RamFile | undefined {
    return this.launched.detail.ram;
  }

  async state(): Promise<VmState> {
    if (this.process.hasExited()) return "shutdown";
    const { status } = await this.qmp.execute<{ status: string }>("query-status");
    return vmStateOf(status);
  }

  async pause(): Promise<void> {
    await this.qmp.execute("stop");
  }

  /** What the vmgenid device shows the guest; null without one. */
  async generationId(): Promise<string | null> {
    if (this.launched.config.generationId === undefined) return null;
    const { guid } = await this.qmp.execute<{ guid: string }>("query-vm-generation-id");
    return guid;
  }

  async resume(): Promise<void> {
    await this.qmp.execute("cont");
  }

  /**
   * A running VM is stopped first (it stays stopped: resume() or end it). A shared RAM file is linked into `dir`
   * (the VMM ends next: the file is the payload's now) or, when the VM resumes afterwards, copied sparsely. RAM
   * held otherwise (anonymous, or copy-on-write over a snapshot's file) goes into the stream, all of it.
   */
  async snapshot(dir: string, opts: SnapshotOptions = {}): Promise<SavedVm> {
    try {
      const { status } = await this.qmp.execute<{ status: string }>("query-status");
      if (status === "running") await this.qmp.execute("stop");
      else if (vmStateOf(status) !== "paused") throw new HypervisorError("failed", `the VM is ${status}, not paused`);
      const ram = this.ramFile?.share ? this.ramFile : undefined;
      const memory = join(dir, MEMORY_FILE);
      await this.setIgnoreShared(ram !== undefined);
      if (!ram) {
        await fillDurably(dir, () => this.migrateTo(memory));
        return { ...this.launched, version: this.qemuVersion.text, memoryKind: "migration-stream" };
      }
      // The guest is paused, so the pages it wrote to its RAM file are final: when that file becomes the payload,
      // their writeback (~10 ms) runs while the device state (~0.3 MB) migrates.
      const flushing = opts.resumes ? undefined : fsyncFile(ram.path);
      flushing?.catch(() => undefined); // awaited below; a failed migration must not leave it unhandled
      const state = join(dir, STATE_FILE);
      await this.migrateStateTo(state);
      if (opts.resumes) await sparseCopyFile(ram.path, memory);
      else await link(ram.path, memory);
      await Promise.all([fsyncFile(state), flushing ?? fsyncFile(memory)]);
      await fsyncDir(dir);
      return { ...this.launched, version: this.qemuVersion.text, memoryKind: "ram-file" };
    } catch (err) {
      throw inStep("snapshot", err);
    }
  }

  /**
   * Cancels an outgoing migration (a snapshot being written) that nobody will finish: a server killed mid-standby
   * leaves QEMU migrating on its own, and a VM resumed meanwhile would be stopped again when it completes. The VM
   * is left as it was before the migration (paused). A VM still loading its own memory (`inmigrate`) is left alone.
   */
  async cancelOutgoingMigration(): Promise<void> {
    const [{ status: run }, { status }] = await Promise.all([
      this.qmp.execute<{ status: string }>("query-status"),
      this.qmp.execute<{ status?: string }>("query-migrate"),
    ]);
    if (run === "inmigrate" || status === undefined || MIGRATION_ENDS.has(status)) return;
    const since = this.qmp.eventCursor();
    await this.qmp.execute("migrate_cancel");
    await this.qmp.waitEvent("MIGRATION", (d) => MIGRATION_ENDS.has(String(d.status)), RESUME_TIMEOUT_MS, since);
  }

  /**
   * Loads guest memory and device state into this VMM (started with `-incoming defer`) and resumes it. `stream`
   * is the payload's memory file, or its state file when the RAM is a file this VMM maps already.
   */
  async load(stream: string, kind: MemoryKind): Promise<void> {
    // Both sides of a migration must agree on the capability: the stream's layout depends on it.
    await this.setIgnoreShared(kind === "ram-file");
    await this.migrate("migrate-incoming", incomingUri(this.qemuVersion, stream));
    // The source was stopped, so the loaded VM comes up paused (qemu-notes.md §3).
    const since = this.qmp.eventCursor();
    await this.qmp.execute("cont");
    await this.qmp.waitEvent("RESUME", undefined, RESUME_TIMEOUT_MS, since);
  }

  /**
   * ACPI power-off only reaches a running guest that handles it (our busybox guest does not: it then takes the
   * whole `timeoutMs`); a paused VM, e.g. after a snapshot, cannot react, so it gets `quit` at once. Whatever
   * is left after `quit` is signalled away.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      const { status } = await this.qmp.execute<{ status: string }>("query-status");
      if (status === "running") {
        await this.qmp.execute("system_powerdown");
        await this.exitsWithin(timeoutMs);
      }
      if (!this.process.hasExited()) {
        await this.qmp.execute("quit");
        await this.exitsWithin(QUIT_GRACE_MS);
      }
    } catch {
      // QMP unusable (QEMU hung or already gone): signals still work.
    }
    await this.process.stop();
    this.qmp.close();
    await this.gone;
  }

  async kill(): Promise<void> {
    this.qmp.close();
    await this.process.kill();
    await this.gone;
  }

  /** Set every time (an adopted VMM's setting is unknown); a VM without a RAM file never had it on. */
  private async setIgnoreShared(on: boolean): Promise<void> {
    if (!on && !this.ramFile) return;
    await this.qmp.execute("migrate-set-capabilities", { capabilities: [{ capability: IGNORE_SHARED, state: on }] });
  }

  private async migrate(command: "migrate" | "migrate-incoming", uri: string): Promise<void> {
    const since = this.qmp.eventCursor();
    await this.qmp.execute(command, { uri });
    const end = await this.qmp.waitEvent("MIGRATION", (d) => MIGRATION_ENDS.has(String(d.status)), MIGRATION_TIMEOUT_MS, since);
    if (end.data.status === "completed") return;
    const info = await this.qmp.execute<{ "error-desc"?: string }>("query-migrate").catch(() => ({ "error-desc": undefined }));
    throw new HypervisorError("failed", `${command}: ${info["error-desc"] ?? `migration ${String(end.data.status)}`}`);
  }

  /** Device state: received over a Unix socket (see stream-receiver.ts), or written like memory where it cannot be. */
  private async migrateStateTo(path: string): Promise<void> {
    const receiver = await receiveStream(path);
    if (!receiver) return this.migrateTo(path);
    try {
      await this.migrate("migrate", receiver.uri);
      await receiver.done;
    } finally {
      await receiver.close();
    }
  }

  private async migrateTo(path: string): Promise<void> {
    await this.migrate("migrate", outgoingUri(this.qemuVersion, path));
    await this.awaitFile(path);
  }

  private async awaitFile(path: string): Promise<void> {
    const deadline = performance.now() + MIGRATION_TIMEOUT_MS;
    while (!existsSync(path)) {
      if (this.process.hasExited() || performance.now() > deadline) {
        throw new HypervisorError("failed", `${path} was not completed by QEMU's writer`);
      }
      await Bun.sleep(MEMORY_FILE_POLL_MS);
    }
  }

  private async exitsWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.process.exited, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}
