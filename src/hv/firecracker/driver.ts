// Firecracker driver: one `firecracker --api-sock <dir>/fc.sock` process per VM, cwd = the guest dir, driven over
// its HTTP API (hypervisor-apis.md §2). Cold boot is the pre-boot PUTs + InstanceStart; a snapshot is a Full
// /snapshot/create into a pre-created dir (`state` + `memory`; core records vm.json beside them); a restore is /snapshot/load with a
// File memory backend on a fresh process, then a resume. Firecracker rejects unknown fields, so every body holds
// only fields of the oldest release we talk to; it has no API to end itself, so the process is stopped by signal.
//
// Serial: Firecracker's UART (ttyS0) writes to the process's stdout, which the supervisor sends to logs/vmm.log;
// Firecracker's own log goes to logs/firecracker.log. There is no second UART and vsock is unavailable here, so
// there is no guest-agent channel (layout().agentSocket is undefined).
import { mkdir, open } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
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
import { VMM_LOG } from "../vmm-process.ts";
import { fcSnapshotLoadBody, fcBootRequests } from "./config.ts";
import { parseSemVer, restoreRefusal, type FcHost } from "./version.ts";

export const FC_LAYOUT: GuestLayout = { controlSocket: "fc.sock", serialLog: VMM_LOG };
/** Raw guest RAM in a snapshot dir (mapped MAP_PRIVATE by a restored VM for its whole life: never written). */
export const FC_MEMORY_FILE = "memory";
/** The microVM state file in a snapshot dir. */
export const FC_STATE_FILE = "state";
/** Firecracker's own log (`--log-path`; the file must exist before it starts). */
export const FC_LOG = "logs/firecracker.log";
const API_BASE_URL = "http://localhost";

/** `GET /` states → ours. */
const STATES: Record<string, VmState> = { "Not started": "created", Running: "running", Paused: "paused" };

/** SavedVm.detail of a Firecracker snapshot. */
export interface FcDetail {
  /** Snapshot data format the writing binary reported (`--snapshot-version`), e.g. "10.0.0". */
  snapshotFormat: string;
}

export class FirecrackerDriver implements Hypervisor {
  readonly type = "firecracker";
  readonly capabilities: Capabilities = { snapshot: true, standby: true, fork: true, pause: true, networkModes: ["bridge"] };
  readonly memoryFile = FC_MEMORY_FILE;
  private readonly host: () => Promise<FcHost>;

  constructor(private readonly opts: ApiVmmDriverOptions) {
    this.host = once(async () => {
      const [versionOut, formatOut] = await Promise.all([askBinary(opts.command, ["--version"]), askBinary(opts.command, ["--snapshot-version"])]);
      const release = parseSemVer(versionOut);
      const snapshotFormat = parseSemVer(formatOut);
      if (!release || !snapshotFormat) {
        throw new HypervisorError("failed", `cannot read firecracker's version and snapshot format from ${JSON.stringify(`${versionOut} ${formatOut}`.slice(0, 200))}`);
      }
      return { release, snapshotFormat };
    });
  }

  layout(): GuestLayout {
    return FC_LAYOUT;
  }

  async version(): Promise<string> {
    return (await this.host()).release.text;
  }

  async start(req: StartRequest): Promise<RunningVm> {
    const requests = fcBootRequests(req.config);
    const host = await this.host();
    const vmm = await this.launch(req.dir);
    return bringUp(vmm, async () => {
      for (const r of requests) await vmm.api.request(r.method, r.path, r.body);
      await vmm.api.request("PUT", "/actions", { action_type: "InstanceStart" });
      return new FcVm(vmm, this.launched(host, req.config));
    });
  }

  async restore(req: StartRequest & { snapshotDir: string; saved: StoredVm }): Promise<RunningVm> {
    await this.checkRestorable(req.saved);
    const host = await this.host();
    const vmm = await this.launch(req.dir);
    // A failed load leaves Firecracker unusable (§2.7): bringUp ends the process.
    return bringUp(vmm, async () => {
      await vmm.api.request(
        "PUT",
        "/snapshot/load",
        fcSnapshotLoadBody({ state: join(req.snapshotDir, FC_STATE_FILE), memory: join(req.snapshotDir, FC_MEMORY_FILE) }, req.config.network),
        MEMORY_TRANSFER_TIMEOUT_MS,
      );
      await vmm.api.request("PATCH", "/vm", { state: "Resumed" });
      return new FcVm(vmm, this.launched(host, req.config));
    });
  }

  async checkRestorable(stored: StoredVm): Promise<SavedVm> {
    const saved = verifySavedVm(stored, this.type);
    const detail = saved.detail as Partial<FcDetail> | undefined;
    const refusal = restoreRefusal(saved.version, detail?.snapshotFormat, await this.host());
    if (refusal) throw new HypervisorError("incompatible", refusal);
    return saved;
  }

  /**
   * Nothing to rewrite: drive paths in the state file are relative to the VMM's cwd, which is always the guest
   * dir. A drive given by an absolute path inside the old guest dir would still point there (Firecracker has no
   * drive override), so such a snapshot cannot be forked.
   */
  async prepareFork(_snapshotDir: string, stored: StoredVm, fromDir: string): Promise<SavedVm> {
    const saved = verifySavedVm(stored, this.type);
    for (const disk of saved.config.disks) {
      const inside = isAbsolute(disk.path) ? relative(fromDir, disk.path) : "..";
      if (inside !== ".." && !inside.startsWith("../") && !isAbsolute(inside)) {
        throw new HypervisorError("not_supported", `firecracker cannot fork a snapshot whose drive ${disk.path} is an absolute path inside the source guest dir`);
      }
    }
    return saved;
  }

  async attach(dir: string, pid: number, launched: StoredVm): Promise<RunningVm | null> {
    const socket = join(dir, FC_LAYOUT.controlSocket);
    const found = await adoptApiVmm(this.opts.supervisor, { pid, socket, baseUrl: API_BASE_URL, launched, type: this.type });
    return found && new FcVm(found.vmm, found.launched);
  }

  private async launch(dir: string): Promise<ApiVmm> {
    await mkdir(join(dir, "logs"), { recursive: true });
    await (await open(join(dir, FC_LOG), "a", 0o600)).close();
    const socket = join(dir, FC_LAYOUT.controlSocket);
    return launchApiVmm(this.opts.supervisor, {
      argv: [...this.opts.command, "--api-sock", socket, "--log-path", join(dir, FC_LOG)],
      dir,
      socket,
      baseUrl: API_BASE_URL,
      probePath: "/",
    });
  }

  private launched(host: FcHost, config: VmConfig): SavedVm {
    const detail: FcDetail = { snapshotFormat: host.snapshotFormat.text };
    return { hypervisor: this.type, version: host.release.text, config, detail: { ...detail } };
  }
}

class FcVm extends ApiVm {
  async state(): Promise<VmState> {
    const info = (await this.vmm.api.request("GET", "/")) as { state?: unknown } | undefined;
    const state = typeof info?.state === "string" ? STATES[info.state] : undefined;
    if (!state) throw new HypervisorError("failed", `GET /: unknown state ${JSON.stringify(info?.state)}`);
    return state;
  }

  async pause(): Promise<void> {
    await this.vmm.api.request("PATCH", "/vm", { state: "Paused" });
  }

  async resume(): Promise<void> {
    await this.vmm.api.request("PATCH", "/vm", { state: "Resumed" });
  }

  /** Full snapshot into fresh files: `dir` is empty, so no existing (possibly hard-linked) file is written in place. */
  protected async writeSnapshot(dir: string): Promise<void> {
    await this.vmm.api.request(
      "PUT",
      "/snapshot/create",
      { snapshot_type: "Full", snapshot_path: join(dir, FC_STATE_FILE), mem_file_path: join(dir, FC_MEMORY_FILE) },
      MEMORY_TRANSFER_TIMEOUT_MS,
    );
  }

  /** Ctrl-Alt-Del while the guest runs (Firecracker exits when the guest resets), then SIGTERM/SIGKILL. */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      if (!this.vmm.proc.hasExited() && (await this.state()) === "running") {
        await this.vmm.api.request("PUT", "/actions", { action_type: "SendCtrlAltDel" });
        await Promise.race([this.vmm.exited, Bun.sleep(timeoutMs)]);
      }
    } catch {
      // Whatever the API said, the process goes below.
    } finally {
      await this.vmm.proc.stop();
      await this.vmm.exited;
    }
  }

}
