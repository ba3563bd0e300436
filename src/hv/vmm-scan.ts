// Finding VMM processes by their command line, whoever started them: at start-up every VMM of the data dir must be
// adopted or ended, including those an earlier server process started and never recorded (it was killed first).
import { readdirSync } from "node:fs";
import { readCmdline, VMM_KILL_GRACE_MS, VmmSupervisor } from "./vmm-process.ts";

export interface FoundProcess {
  pid: number;
  cmdline: string[];
}

/** Live processes (ours excluded) whose command line passes `match`. */
export function findProcesses(match: (cmdline: string[]) => boolean): FoundProcess[] {
  const found: FoundProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmdline = readCmdline(pid);
    if (cmdline && match(cmdline)) found.push({ pid, cmdline });
  }
  return found;
}

/** SIGTERM, then SIGKILL after `graceMs`, while `pid` still runs a command line passing `match`; resolves once it is gone. */
export async function endProcess(pid: number, match: (cmdline: string[]) => boolean, graceMs = VMM_KILL_GRACE_MS): Promise<void> {
  await new VmmSupervisor().adopt(pid, match)?.stop(graceMs);
}
