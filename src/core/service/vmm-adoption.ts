// At start-up every VMM process whose command line names a control socket in the data dir's guest dirs is either
// adopted by its instance or ended (SIGTERM, then SIGKILL): none is left unmanaged, whoever started it and
// whether or not its pid was recorded. An adopted VMM is brought out of any transitional state:
//  * running: usable only once its guest agent answers (the same bounded gate as a start); otherwise the VMM is
//    ended and the instance, Stopped, carries a state error. Standby files beside a running guest are stale (an
//    interrupted restore had already resumed it): they go.
//  * paused with a complete standby payload (a standby, or the memory side of a snapshot/fork, that finished
//    writing; a restore that loaded but never resumed): the VMM is ended, the instance is Standby.
//  * paused without one (a standby interrupted while writing): the partial payload goes, the guest resumes.
//  * created (a restore still waiting for its memory) or shut down: the VMM is ended.
import { existsSync } from "node:fs";
import { relative, sep } from "node:path";
import type { Hypervisor, RunningVm } from "../../hv/hypervisor.ts";
import { endProcess, findProcesses, type FoundProcess } from "../../hv/vmm-scan.ts";
import { removeTree } from "../../fs/atomic.ts";
import { readLaunchRecord, readSavedVm } from "../../store/payload/vm-record.ts";
import type { InstanceRow } from "../../store/schema.ts";
import { awaitGuestReady } from "../instances/readiness.ts";
import { standbyDir } from "../instances/view.ts";
import type { CoreContext } from "./context.ts";
import { hypervisorFor, isHypervisorType } from "./hypervisor-lookup.ts";

export async function adoptOrEndVmms(ctx: CoreContext): Promise<void> {
  const byInstance = new Map<string, FoundProcess[]>();
  for (const proc of findProcesses((cmdline) => instanceOf(ctx, cmdline) !== undefined)) {
    const id = instanceOf(ctx, proc.cmdline)!;
    byInstance.set(id, [...(byInstance.get(id) ?? []), proc]);
  }
  const rows = ctx.instances.all().filter((row) => row.rowState === "ready");
  await Promise.all(
    rows.map(async (row) => {
      const procs = byInstance.get(row.id) ?? [];
      byInstance.delete(row.id);
      // The recorded pid first; any other VMM of the same dir is a leftover of an interrupted operation.
      const [candidate, ...extra] = procs.toSorted((a, b) => Number(b.pid === row.pid) - Number(a.pid === row.pid));
      await Promise.all(extra.map((p) => end(ctx, p, row.id, "a second VMM of the instance")));
      if (!candidate || !(await adopt(ctx, row, candidate))) {
        if (row.pid !== null) ctx.instances.update(row.id, { pid: null, stoppedAt: ctx.clock() });
      }
    }),
  );
  const orphans = [...byInstance.entries()].flatMap(([id, procs]) => procs.map((p) => end(ctx, p, id, "no instance owns it")));
  await Promise.all(orphans);
}

/** The instance whose control socket `cmdline` names (`<guests>/<id>/<socket>`, alone or inside an option value). */
function instanceOf(ctx: CoreContext, cmdline: string[]): string | undefined {
  const sockets = controlSockets(ctx);
  for (const arg of cmdline) {
    const at = arg.indexOf(ctx.paths.guestsDir + sep);
    if (at < 0) continue;
    const rest = relative(ctx.paths.guestsDir, arg.slice(at).split(",")[0]!);
    const [id, file, ...deeper] = rest.split(sep);
    if (id && file && deeper.length === 0 && sockets.has(file)) return id;
  }
  return undefined;
}

function controlSockets(ctx: CoreContext): Set<string> {
  return new Set(Object.values(ctx.hypervisors).map((hv) => hv.layout().controlSocket));
}

async function end(ctx: CoreContext, proc: FoundProcess, id: string, why: string): Promise<void> {
  ctx.logger.warn("ending a VMM left by an earlier server", { instance: id, pid: proc.pid, why });
  await endProcess(proc.pid, (cmdline) => instanceOf(ctx, cmdline) === id);
}

/** True when the instance keeps the VMM (Running, agent answering). */
async function adopt(ctx: CoreContext, row: InstanceRow, proc: FoundProcess): Promise<boolean> {
  const dir = ctx.paths.guest(row.id);
  let vm: RunningVm | null = null;
  let hv: Hypervisor | undefined;
  try {
    hv = isHypervisorType(row.hypervisor) ? hypervisorFor(ctx, row.hypervisor) : undefined;
    if (hv) vm = await hv.attach(dir, proc.pid, await readLaunchRecord(dir, row.hypervisor));
  } catch (err) {
    ctx.logger.warn("could not adopt VMM", { instance: row.id, pid: proc.pid, error: String(err) });
  }
  if (!vm || !hv) {
    await end(ctx, proc, row.id, "it cannot be driven (no usable launch record or QMP/API)");
    return false;
  }
  const state = await vm.state().catch(() => "shutdown" as const);
  const standby = standbyDir(ctx, row.id);
  const standbyComplete = existsSync(standby) && (await readSavedVm(standby).then(() => true, () => false));
  if (state === "paused" && !standbyComplete) {
    await removeTree(standby);
    if (!(await vm.resume().then(() => true, () => false))) return ended(ctx, row, vm, "it could not be resumed");
  } else if (state !== "running") {
    return ended(ctx, row, vm, `it was ${state}${state === "paused" ? " beside a complete standby payload" : ""}`);
  }
  ctx.vms.track(row.id, vm, false);
  ctx.instances.update(row.id, { pid: vm.pid, stoppedAt: null, hypervisorVersion: vm.launched.version });
  try {
    await awaitGuestReady(ctx, row, hv);
  } catch (err) {
    await ctx.vms.release(row.id)?.kill();
    const message = `the VMM found at start-up was ended: its guest agent did not answer (${err instanceof Error ? err.message : err})`;
    ctx.instances.update(row.id, { pid: null, stoppedAt: ctx.clock(), stateError: message });
    ctx.logger.error("adopted VMM not usable", { instance: row.id, pid: vm.pid, error: message });
    return false;
  }
  await removeTree(standby);
  ctx.logger.info("adopted running VMM", { instance: row.id, pid: vm.pid });
  return true;
}

async function ended(ctx: CoreContext, row: InstanceRow, vm: RunningVm, why: string): Promise<false> {
  ctx.logger.warn("ending an adopted VMM", { instance: row.id, pid: vm.pid, why });
  await vm.kill();
  return false;
}
