// VMM process supervision: start a VMM with its output in the guest dir's `logs/vmm.log`, know when it exits,
// end it (SIGTERM, then SIGKILL after a grace period), and adopt one left running by an earlier server process.
// The supervisor tracks every live VMM so that a server going away can end them all (killAll).
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Relative to the guest dir. The VMM writes here directly, so it outlives the server that started it. */
export const VMM_LOG = "logs/vmm.log";
/** Time a VMM gets to exit after SIGTERM before SIGKILL. */
export const VMM_KILL_GRACE_MS = 5_000;
/** How often an adopted VMM (not our child: no exit notification) is checked. */
export const ADOPTED_EXIT_POLL_MS = 250;
/** Starts the line vmm.log gets before each VMM run. */
const RUN_HEADER = "--- ";
/** How much of vmm.log an error message quotes. */
export const VMM_LOG_TAIL_BYTES = 2_048;

export interface VmmProcess {
  readonly pid: number;
  /** Exit code; null when killed by a signal or when the process was adopted (its status is not ours to read). */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

export class VmmSupervisor {
  private readonly live = new Set<VmmProcess>();

  /** Starts `argv` in its own session (a terminal's Ctrl-C to the server must not reach the VMs). */
  spawn(argv: string[], dir: string): VmmProcess {
    const logPath = join(dir, VMM_LOG);
    mkdirSync(dirname(logPath), { recursive: true });
    const fd = openSync(logPath, "a", 0o600);
    let proc;
    try {
      writeSync(fd, `${RUN_HEADER}${new Date().toISOString()} ${argv.join(" ")}\n`);
      proc = Bun.spawn(argv, { cwd: dir, stdin: "ignore", stdout: fd, stderr: fd, detached: true });
    } finally {
      closeSync(fd);
    }
    // The server's own exit must not wait for its VMs; shutdown paths end them explicitly.
    proc.unref();
    const exited = proc.exited.then(() => (proc.signalCode ? null : proc.exitCode));
    return this.track(new ChildVmm(proc.pid, exited, (signal) => proc.kill(signal)));
  }

  /**
   * Takes over a VMM started by an earlier server process, if `pid` is alive and its command line passes
   * `isOurs` (a reused pid belongs to someone else). Null otherwise.
   */
  adopt(pid: number, isOurs: (cmdline: string[]) => boolean): VmmProcess | null {
    const identity = processIdentity(pid);
    const cmdline = readCmdline(pid);
    if (!identity || !cmdline || !isOurs(cmdline)) return null;
    return this.track(new AdoptedVmm(pid, identity.startTime));
  }

  /** Ends every VMM this supervisor started or adopted. */
  async killAll(graceMs = VMM_KILL_GRACE_MS): Promise<void> {
    await Promise.all([...this.live].map((p) => p.stop(graceMs)));
  }

  private track(p: VmmProcess): VmmProcess {
    this.live.add(p);
    p.exited.finally(() => this.live.delete(p));
    return p;
  }
}

abstract class SignalledVmm implements VmmProcess {
  private gone = false;
  readonly exited: Promise<number | null>;

  constructor(
    readonly pid: number,
    exited: Promise<number | null>,
  ) {
    this.exited = exited.finally(() => (this.gone = true));
  }

  hasExited(): boolean {
    return this.gone;
  }

  protected abstract signal(signal: NodeJS.Signals): void;

  async stop(graceMs = VMM_KILL_GRACE_MS): Promise<void> {
    if (this.gone) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.gone) return;
    this.signal("SIGKILL");
    await this.exited;
  }
}

class ChildVmm extends SignalledVmm {
  constructor(
    pid: number,
    exited: Promise<number | null>,
    private readonly send: (signal: NodeJS.Signals) => void,
  ) {
    super(pid, exited);
  }

  protected signal(signal: NodeJS.Signals): void {
    this.send(signal);
  }
}

class AdoptedVmm extends SignalledVmm {
  constructor(
    pid: number,
    private readonly startTime: string,
  ) {
    super(pid, pollUntilGone(pid, startTime));
  }

  protected signal(signal: NodeJS.Signals): void {
    // Only while the pid still names the process we adopted.
    if (processIdentity(this.pid)?.startTime !== this.startTime) return;
    try {
      process.kill(this.pid, signal);
    } catch {}
  }
}

function pollUntilGone(pid: number, startTime: string): Promise<null> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (processIdentity(pid)?.startTime === startTime) return;
      clearInterval(timer);
      resolve(null);
    }, ADOPTED_EXIT_POLL_MS);
    timer.unref();
  });
}

/** A live (not zombie) process's start time from /proc/<pid>/stat: with the pid, it names one process. */
function processIdentity(pid: number): { startTime: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after "pid (comm) ": state is field 3, starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X" || fields[19] === undefined) return null;
  return { startTime: fields[19] };
}

export function readCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw ? raw.replace(/\0$/, "").split("\0") : null;
  } catch {
    return null;
  }
}

/** The end of what the latest VMM run printed to vmm.log (why it died, usually), for error messages. */
export async function vmmLogTail(dir: string, bytes = VMM_LOG_TAIL_BYTES): Promise<string> {
  try {
    const file = await open(join(dir, VMM_LOG), "r");
    try {
      const { size } = await file.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await file.read(buf, 0, buf.length, start);
      const text = `\n${buf.toString("utf8")}`;
      const header = text.lastIndexOf(`\n${RUN_HEADER}`);
      if (header < 0) return text.trim();
      const lineEnd = text.indexOf("\n", header + 1);
      return lineEnd < 0 ? "" : text.slice(lineEnd + 1).trim();
    } finally {
      await file.close();
    }
  } catch {
    return "";
  }
}
