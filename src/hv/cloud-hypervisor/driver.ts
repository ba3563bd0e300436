// Cloud Hypervisor driver: one `cloud-hypervisor --api-socket <dir>/ch.sock` process per VM, driven over its HTTP
// API (hypervisor-apis.md §1). Cold boot is vm.create + vm.boot; a snapshot is vm.snapshot into a pre-created
// dir (CH writes config.json, state.json, memory-ranges; core records vm.json beside them); a restore is vm.restore on a fresh
// process, which rebuilds the devices from the snapshot's config.json, then a resume.
//
// Guest agent: the default guest runs its agent on a second UART (ttyS1); CH has one UART (ttyS0, our serial
// log) and a virtio console, so there is no agent channel and layout().agentSocket is undefined.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { adoptApiVmm, ApiVm, bringUp, launchApiVmm, type ApiVmm, type ApiVmmDriverOptions } from "../api-vmm.ts";
import {
  HypervisorError,
  type Capabilities,
  type GuestLayout,
  type Hypervisor,
  type RunningVm,
  type SavedVm,
  type StartRequest,
  type StoredVm,
  type VmConfig,
  type VmState,
} from "../hypervisor.ts";
import { verifySavedVm } from "../saved-vm-record.ts";
import { MEMORY_TRANSFER_TIMEOUT_MS } from "../unix-http.ts";
import { askBinary, once } from "../vmm-binary.ts";
import { writeFileAtomic } from "../../fs/atomic.ts";
import { chVmConfig, rebaseChConfig, withChNetwork } from "./config.ts";
import { parseChVersion, restoreRefusal, supportsRestoreResume, type ChVersion } from "./version.ts";

export const CH_LAYOUT: GuestLayout = { controlSocket: "ch.sock", serialLog: "logs/serial.log" };
/** The raw guest RAM CH writes into a snapshot dir. */
export const CH_MEMORY_FILE = "memory-ranges";
/** The snapshot's VmConfig as CH wrote it; restore builds the VM from it. */
export const CH_SNAPSHOT_CONFIG = "config.json";
const API_BASE_URL = "http://localhost/api/v1";
/** How often shutdown checks whether the guest has powered off. */
export const POWEROFF_POLL_MS = 100;
/** Time the VMM gets to exit after vmm.shutdown before it is killed. */
export const VMM_EXIT_TIMEOUT_MS = 5_000;

/** CH's `vm.info` states → ours. BreakPoint (a debugger stop) is a paused VM to us. */
const STATES: Record<string, VmState> = { Created: "created", Running: "running", Paused: "paused", Shutdown: "shutdown", BreakPoint: "paused" };

export class CloudHypervisorDriver implements Hypervisor {
  readonly type = "cloud-hypervisor";
  readonly capabilities: Capabilities = { snapshot: true, standby: true, fork: true, pause: true, networkModes: ["bridge"] };
  readonly memoryFile = CH_MEMORY_FILE;
  private readonly binaryVersion: () => Promise<ChVersion>;

  constructor(private readonly opts: ApiVmmDriverOptions) {
    this.binaryVersion = once(async () => {
      const output = await askBinary(opts.command, ["--version"]);
      const version = parseChVersion(output);
      if (!version) throw new HypervisorError("failed", `cannot read a cloud-hypervisor version from ${JSON.stringify(output.slice(0, 200))}`);
      return version;
    });
  }

  layout(): GuestLayout {
    return CH_LAYOUT;
  }

  async version(): Promise<string> {
    return (await this.binaryVersion()).text;
  }

  async start(req: StartRequest): Promise<RunningVm> {
    const version = await this.binaryVersion();
    const vmm = await this.launch(req.dir);
    return bringUp(vmm, async () => {
      await vmm.api.request("PUT", "/vm.create", chVmConfig(req.config, req.dir, CH_LAYOUT.serialLog));
      await vmm.api.request("PUT", "/vm.boot");
      return new ChVm(vmm, this.launched(version.text, req.config));
    });
  }

  async restore(req: StartRequest & { snapshotDir: string; saved: StoredVm }): Promise<RunningVm> {
    await this.checkRestorable(req.saved);
    const version = await this.binaryVersion();
    // CH reopens the TAP named in config.json: a fork must name its own (a shared name is EBUSY or a hijack).
    if (req.config.network) await this.editSnapshotConfig(req.snapshotDir, (config) => withChNetwork(config, req.config.network!));
    const vmm = await this.launch(req.dir);
    return bringUp(vmm, async () => {
      // Copy mode reads memory-ranges once and never again: the file may be hard-linked into other guests.
      const autoResume = supportsRestoreResume(version);
      await vmm.api.request(
        "PUT",
        "/vm.restore",
        { source_url: `file://${req.snapshotDir}`, prefault: false, ...(autoResume ? { memory_restore_mode: "Copy", resume: true } : {}) },
        MEMORY_TRANSFER_TIMEOUT_MS,
      );
      // Before v52 `resume` does not exist (CH drops it silently), so the VM is still paused; check either way.
      if (!autoResume || (await infoState(vmm)) === "paused") await vmm.api.request("PUT", "/vm.resume");
      return new ChVm(vmm, this.launched(version.text, req.config));
    });
  }

  async checkRestorable(stored: StoredVm): Promise<SavedVm> {
    const saved = verifySavedVm(stored, this.type);
    const refusal = restoreRefusal(saved.version, await this.binaryVersion());
    if (refusal) throw new HypervisorError("incompatible", refusal);
    return saved;
  }

  /** Moves every path under `fromDir` in the snapshot's config.json (and in the record) to `toDir`. */
  async prepareFork(snapshotDir: string, stored: StoredVm, fromDir: string, toDir: string): Promise<SavedVm> {
    const saved = verifySavedVm(stored, this.type);
    await this.editSnapshotConfig(snapshotDir, (config) => rebaseChConfig(config, fromDir, toDir));
    return { ...saved, config: rebaseChConfig(saved.config, fromDir, toDir) as VmConfig };
  }

  /** Rewrites a snapshot dir's own config.json (never hard-linked: only the memory file is shared). */
  private async editSnapshotConfig(snapshotDir: string, edit: (config: unknown) => unknown): Promise<void> {
    const configPath = join(snapshotDir, CH_SNAPSHOT_CONFIG);
    let config: unknown;
    try {
      config = JSON.parse(await readFile(configPath, "utf8"));
    } catch (err) {
      throw new HypervisorError("failed", `read ${configPath}: ${(err as Error).message}`, { cause: err });
    }
    await writeFileAtomic(configPath, JSON.stringify(edit(config)));
  }

  async attach(dir: string, pid: number, launched: StoredVm): Promise<RunningVm | null> {
    const socket = join(dir, CH_LAYOUT.controlSocket);
    const found = await adoptApiVmm(this.opts.supervisor, { pid, socket, baseUrl: API_BASE_URL, launched, type: this.type });
    return found && new ChVm(found.vmm, found.launched);
  }

  private async launch(dir: string): Promise<ApiVmm> {
    await mkdir(join(dir, "logs"), { recursive: true });
    const socket = join(dir, CH_LAYOUT.controlSocket);
    return launchApiVmm(this.opts.supervisor, {
      argv: [...this.opts.command, "--api-socket", socket],
      dir,
      socket,
      baseUrl: API_BASE_URL,
      probePath: "/vmm.ping",
    });
  }

  private launched(version: string, config: VmConfig): SavedVm {
    return { hypervisor: this.type, version, config };
  }
}

class ChVm extends ApiVm {
  state(): Promise<VmState> {
    return infoState(this.vmm);
  }

  async pause(): Promise<void> {
    await this.vmm.api.request("PUT", "/vm.pause");
  }

  async resume(): Promise<void> {
    await this.vmm.api.request("PUT", "/vm.resume");
  }

  protected async writeSnapshot(dir: string): Promise<void> {
    await this.vmm.api.request("PUT", "/vm.snapshot", { destination_url: `file://${dir}` }, MEMORY_TRANSFER_TIMEOUT_MS);
  }

  /** ACPI power button while the guest runs, then vmm.shutdown (the process exits), then SIGKILL if needed. */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      if (this.vmm.proc.hasExited()) return;
      if ((await this.state()) === "running") {
        await this.vmm.api.request("PUT", "/vm.power-button");
        await this.untilPoweredOff(timeoutMs);
      }
      if (!this.vmm.proc.hasExited()) {
        await this.vmm.api.request("PUT", "/vmm.shutdown");
        await Promise.race([this.vmm.exited, Bun.sleep(VMM_EXIT_TIMEOUT_MS)]);
      }
    } catch {
      // Whatever the API said, the process goes below.
    } finally {
      await this.kill();
    }
  }

  private async untilPoweredOff(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && !this.vmm.proc.hasExited()) {
      if ((await this.state()) === "shutdown") return;
      await Bun.sleep(POWEROFF_POLL_MS);
    }
  }
}

async function infoState(vmm: ApiVmm): Promise<VmState> {
  const info = (await vmm.api.request("GET", "/vm.info")) as { state?: unknown } | undefined;
  const state = typeof info?.state === "string" ? STATES[info.state] : undefined;
  if (!state) throw new HypervisorError("failed", `GET /vm.info: unknown state ${JSON.stringify(info?.state)}`);
  return state;
}
