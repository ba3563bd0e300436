// Fan-out: N = 1, 4, 8 forks (target Running) from one Standby snapshot, per guest size (256 MiB and 1 GiB by
// default). Per N: wall time; per fork, API call to VMM running (`cont` done, from the driver's "QEMU resumed" log),
// to the guest agent answering (the readiness log) against a bare QMP restore of the same memory as a migration
// stream until its agent answers (bare-qmp.ts), in the same run, and to Running (handoffs done); disk bytes added per fork, those for
// memory apart; the host memory each idle fork holds 30 s after (private bytes as the API reports them, PSS); then
// the time one fork takes for a fixed busy workload (busybox applets), which a capped TCG translation cache
// (`--tcg-cache MiB`, hypervisors.qemu.tcgCacheMib) slows where the guest's code outgrows it.
//   bun scripts/bench/fanout.ts [--forks 1,4,8] [--guests 256MB,1GB] [--idle 30] [--tcg-cache 12]
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { join } from "node:path";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { vmmMemory } from "../../src/hv/vmm-memory.ts";
import { readSavedVm } from "../../src/store/payload/vm-record.ts";
import { allocatedSize } from "../../src/store/file-sizes.ts";
import type { Logger } from "../../src/core/service/logger.ts";
import { bareRestore, bareStreamOf } from "./bare-qmp.ts";
import { benchService } from "./bench-service.ts";
import { median, printTable } from "./report.ts";

const { values } = parseArgs({
  options: {
    forks: { type: "string", default: "1,4,8" },
    guests: { type: "string", default: "256MB,1GB" },
    idle: { type: "string", default: "30" },
    "tcg-cache": { type: "string" },
  },
});
const TCG_CACHE = values["tcg-cache"] === undefined ? undefined : Number(values["tcg-cache"]);
/** Many short processes over a few MB of busybox code: kernel and applet paths a web handler would also run. */
const BUSY =
  "for i in 1 2 3 4 5 6 7 8; do busybox awk 'BEGIN{s=0; for(i=0;i<20000;i++) s+=i*i; print s}' >/dev/null; busybox md5sum /bin/busybox >/dev/null; " +
  "busybox gzip -c /bin/busybox | busybox wc -c >/dev/null; busybox find / -xdev 2>/dev/null | busybox sort | busybox sed s/a/b/ | busybox grep -c x >/dev/null; done";
const FORKS = values.forks.split(",").map(Number);
const IDLE_MS = Number(values.idle) * 1000;
const MB = (bytes: number) => (bytes / 1e6).toFixed(1);

/** When each guest dir's VMM resumed (the driver logs it right after `cont`), and each instance's agent answered. */
const resumedAt = new Map<string, number>();
const answeredAt = new Map<string, number>();
const logger: Logger = {
  debug() {},
  warn() {},
  error() {},
  info(msg, fields) {
    if (msg === "QEMU resumed") resumedAt.set(String(fields?.dir), performance.now());
    if (msg === "guest agent answered") answeredAt.set(String(fields?.instance), performance.now());
  },
};

for (const guest of values.guests.split(",")) {
  const svc = await benchService({ logger, ...(TCG_CACHE === undefined ? {} : { hypervisors: { qemu: { tcgCacheMib: TCG_CACHE } } }) });
  const { call, dataDir } = svc;
  try {
    const parent = await call("POST", "/instances", { name: "parent", size: guest, overlay_size: "128MB" });
    await call("POST", `/instances/${parent.id}/start`);
    await Bun.sleep(2000);
    const snap = await call("POST", `/instances/${parent.id}/snapshots`, { kind: "Standby", name: "fan" });
    await call("POST", `/instances/${parent.id}/stop`);

    // Baseline: today's path for the same memory, in a fork's dir (a Standby fork has its own disk): the memory as a
    // migration stream, restored by a bare script until the guest agent answers.
    const base = await call("POST", `/snapshots/${snap.id}/fork`, { name: "baseline", target_state: "Standby" });
    const baseDir = join(dataDir, "guests", base.id);
    mkdirSync(join(baseDir, "logs"), { recursive: true });
    const saved = (await readSavedVm(join(baseDir, "standby"))).config as unknown as VmConfig;
    const stream = await bareStreamOf(saved, baseDir, join(baseDir, "standby"));
    const bare = await bareRestore(saved, baseDir, stream);
    bare.proc.kill("SIGKILL");
    await bare.proc.exited;
    await call("DELETE", `/instances/${base.id}`);

    const rows: string[][] = [];
    for (const n of FORKS) {
      const diskBefore = await allocatedSize(dataDir);
      const toResumed: number[] = [];
      const toAnswered: number[] = [];
      const toRunning: number[] = [];
      const wall = performance.now();
      const forks = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const t = performance.now();
          const f = await call("POST", `/snapshots/${snap.id}/fork`, { name: `f${n}-${i}` });
          toRunning.push(performance.now() - t);
          toResumed.push(resumedAt.get(join(dataDir, "guests", f.id))! - t);
          toAnswered.push(answeredAt.get(f.id)! - t);
          return f;
        }),
      );
      const wallMs = performance.now() - wall;
      const dirs = forks.map((f) => join(dataDir, "guests", f.id));
      const diskAdded = (await allocatedSize(dataDir)) - diskBefore;
      // Each fork's own disk and console log; the rest of what it added is memory (its RAM name links the snapshot's).
      let ownFiles = 0;
      for (const dir of dirs) ownFiles += (await allocatedSize(join(dir, "disk.raw"))) + (await allocatedSize(join(dir, "logs")));
      await Bun.sleep(IDLE_MS);
      const views = await Promise.all(forks.map((f) => call("GET", `/instances/${f.id}`)));
      const usage = await Promise.all(dirs.map(async (dir) => (await vmmMemory(vmmPid(dir)))!));
      const busy = performance.now();
      await call("POST", `/instances/${forks[0].id}/exec`, { command: ["sh", "-c", BUSY], timeout_ms: 600_000 });
      const busyMs = performance.now() - busy;
      rows.push([
        String(n),
        wallMs.toFixed(0),
        median(toResumed).toFixed(0),
        median(toAnswered).toFixed(0),
        `${(median(toAnswered) / bare.readyMs).toFixed(2)}x`,
        median(toRunning).toFixed(0),
        MB(diskAdded / n),
        MB((diskAdded - ownFiles) / n),
        `${MB(median(views.map((v) => v.memory.private_bytes)))} / ${MB(median(usage.map((u) => u.privateDirtyBytes)))} / ${MB(median(usage.map((u) => u.pssBytes)))}`,
        busyMs.toFixed(0),
      ]);
      for (const f of forks) await call("DELETE", `/instances/${f.id}`);
    }
    printTable(
      `fan-out from one Standby snapshot (${guest} guest, RAM file mapped copy-on-write, TCG translation cache ${TCG_CACHE === undefined ? "QEMU's default" : `${TCG_CACHE} MiB`}); bare QMP restore of the same memory as a stream until the agent answers: ${bare.readyMs.toFixed(0)} ms`,
      [
        "forks",
        "wall (ms)",
        "API → cont (ms)",
        "API → agent answering (ms)",
        "agent vs bare",
        "API → Running, handoffs done (ms)",
        "disk added/fork (MB)",
        "of it memory (MB)",
        `idle ${IDLE_MS / 1000} s: private / private dirty / PSS (MB)`,
        "busy workload in one fork (ms)",
      ],
      rows,
    );
  } finally {
    await svc.close();
  }
}

/** The QEMU of a guest dir (its command line names the dir's QMP socket). */
function vmmPid(dir: string): number {
  return Number(Bun.spawnSync(["pgrep", "-f", join(dir, "qmp.sock")]).stdout.toString().trim().split("\n")[0]);
}
