// A VMM process that serves an HTTP API on a Unix socket (Cloud Hypervisor, Firecracker): started through the
// supervisor, ready once its API answers, and its socket removed when it is gone, because the control socket's
// presence is what "a VMM exists" means to the rest of snapvisor (GuestLayout.controlSocket). ApiVm is what the
// drivers' running VMs share.
import { existsSync, rmSync } from "node:fs";
import { fillDurably } from "../fs/fill-durably.ts";
import { HypervisorError, type HypervisorType, type RunningVm, type SavedVm, type StoredVm, type VmState } from "./hypervisor.ts";
import { verifySavedVm } from "./saved-vm-record.ts";
import { UnixHttpClient } from "./unix-http.ts";
import { vmmLogTail, type VmmProcess, type VmmSupervisor } from "./vmm-process.ts";

/** How long a new VMM gets to serve its API (hypeman allows 10 s). */
export const API_READY_TIMEOUT_MS = 10_000;
/** Pause between readiness probes while the socket is missing or refused. */
export const API_READY_POLL_MS = 20;
/** Limit for one readiness probe; a VMM that takes longer to answer a ping is not ready. */
const READY_PROBE_TIMEOUT_MS = 1_000;

/** What a driver of an API-driven VMM is built with. */
export interface ApiVmmDriverOptions {
  /** Argv prefix that runs the binary (`["firecracker"]`), or an interpreter and a script for a fake. */
  command: readonly string[];
  supervisor: VmmSupervisor;
}

export interface ApiVmm {
  proc: VmmProcess;
  api: UnixHttpClient;
  /** The process's exit, after its socket was removed. */
  exited: Promise<number | null>;
}

export interface LaunchSpec {
  /** Full argv, socket flag included. */
  argv: string[];
  /** Guest dir: the VMM's cwd and home of its log. */
  dir: string;
  socket: string;
  /** API prefix, see UnixHttpClient. */
  baseUrl: string;
  /** A GET that any live VMM answers (`/vmm.ping`, `/`). */
  probePath: string;
}

/** Starts the VMM and returns once its API answers; a VMM that exits or stays silent is ended and reported. */
export async function launchApiVmm(supervisor: VmmSupervisor, spec: LaunchSpec): Promise<ApiVmm> {
  // A socket file left by a VMM that died makes bind() fail.
  rmSync(spec.socket, { force: true });
  const proc = supervisor.spawn(spec.argv, spec.dir);
  const vmm = wrap(proc, spec.socket, spec.baseUrl);
  const deadline = performance.now() + API_READY_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited()) {
      const code = await proc.exited;
      throw new HypervisorError("gone", `${spec.argv[0]} exited (code ${code}) before serving its API: ${await vmmLogTail(spec.dir)}`);
    }
    if (existsSync(spec.socket)) {
      try {
        await vmm.api.request("GET", spec.probePath, undefined, READY_PROBE_TIMEOUT_MS);
        return vmm;
      } catch (err) {
        if (!(err instanceof HypervisorError) || err.kind === "failed") {
          await proc.kill();
          throw err;
        }
      }
    }
    if (performance.now() > deadline) {
      await proc.kill();
      throw new HypervisorError("timeout", `${spec.argv[0]} did not serve ${spec.socket} within ${API_READY_TIMEOUT_MS} ms: ${await vmmLogTail(spec.dir)}`);
    }
    await Bun.sleep(API_READY_POLL_MS);
  }
}

/** Runs the calls that bring a fresh VMM's VM up; a VMM that fails on the way is ended, never left behind. */
export async function bringUp<T>(vmm: ApiVmm, calls: () => Promise<T>): Promise<T> {
  try {
    return await calls();
  } catch (err) {
    await vmm.proc.kill();
    throw err;
  }
}

export interface AdoptSpec {
  pid: number;
  socket: string;
  baseUrl: string;
  /** The launch record core kept for the guest dir when the VMM started. */
  launched: StoredVm;
  type: HypervisorType;
}

/**
 * Takes over a VMM left running by an earlier server: only if `pid` still runs a command line naming the socket.
 * Its launch record says what it runs; without a valid one it could never be snapshotted, so it is ended.
 */
export async function adoptApiVmm(supervisor: VmmSupervisor, spec: AdoptSpec): Promise<{ vmm: ApiVmm; launched: SavedVm } | null> {
  const proc = supervisor.adopt(spec.pid, (cmdline) => cmdline.includes(spec.socket));
  if (!proc) return null;
  const vmm = wrap(proc, spec.socket, spec.baseUrl);
  try {
    return { vmm, launched: verifySavedVm(spec.launched, spec.type) };
  } catch (err) {
    await proc.kill();
    throw err;
  }
}

/** A VM behind an API-driven VMM process; each driver adds its VMM's own calls. */
export abstract class ApiVm implements RunningVm {
  constructor(
    protected readonly vmm: ApiVmm,
    /** What this VMM runs: what its snapshots record. */
    readonly launched: SavedVm,
  ) {}

  get pid(): number {
    return this.vmm.proc.pid;
  }

  get exited(): Promise<number | null> {
    return this.vmm.exited;
  }

  abstract state(): Promise<VmState>;
  abstract pause(): Promise<void>;
  abstract resume(): Promise<void>;
  abstract shutdown(timeoutMs: number): Promise<void>;

  /** Has the VMM write its snapshot files into `dir` (empty; the VM is paused). */
  protected abstract writeSnapshot(dir: string): Promise<void>;

  /** Returns once the VMM's files are on disk. */
  async snapshot(dir: string): Promise<SavedVm> {
    await fillDurably(dir, () => this.writeSnapshot(dir));
    return this.launched;
  }

  async kill(): Promise<void> {
    await this.vmm.proc.kill();
    await this.vmm.exited;
  }
}

function wrap(proc: VmmProcess, socket: string, baseUrl: string): ApiVmm {
  const exited = proc.exited.then((code) => {
    rmSync(socket, { force: true });
    return code;
  });
  return { proc, api: new UnixHttpClient(socket, baseUrl), exited };
}
