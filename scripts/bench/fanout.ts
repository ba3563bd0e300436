// Fan-out: N = 1, 4, 8 forks (target Running) from one Standby snapshot of the default guest. Per N: wall time,
// per-fork latency vs a bare QMP restore of the same memory file (bare-qmp.ts, until the guest agent answers, as a
// fork's Running means) in the same run, disk bytes added per fork and host memory added per fork.
//   bun scripts/bench/fanout.ts [--sizes 1,4,8]
import { mkdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { join } from "node:path";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { readSavedVm } from "../../src/store/payload/vm-record.ts";
import { allocatedSize } from "../../src/store/file-sizes.ts";
import { bareRestore } from "./bare-qmp.ts";
import { benchService } from "./bench-service.ts";
import { median, printTable } from "./report.ts";

const { values } = parseArgs({ options: { sizes: { type: "string", default: "1,4,8" } } });
const SIZES = values.sizes.split(",").map(Number);

const svc = await benchService();
const { call, dataDir } = svc;
const memAvailable = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;

try {
  const parent = await call("POST", "/instances", { name: "parent", size: "256MB", overlay_size: "128MB" });
  await call("POST", `/instances/${parent.id}/start`);
  await Bun.sleep(2000);
  const snap = await call("POST", `/instances/${parent.id}/snapshots`, { kind: "Standby", name: "fan" });
  await call("POST", `/instances/${parent.id}/stop`);

  // Baseline: a bare script restores the same memory in a fork's dir (a Standby fork, so it has its own disk).
  const base = await call("POST", `/snapshots/${snap.id}/fork`, { name: "baseline", target_state: "Standby" });
  const baseDir = join(dataDir, "guests", base.id);
  mkdirSync(join(baseDir, "logs"), { recursive: true });
  // The hardware the memory was saved from (its NIC and vmgenid included), as the fork's restore rebuilds it.
  const saved = (await readSavedVm(join(baseDir, "standby"))).config as unknown as VmConfig;
  const bare = await bareRestore(saved, baseDir, join(baseDir, "standby", "memory"));
  bare.proc.kill("SIGKILL");
  await bare.proc.exited;
  const bareMs = bare.readyMs;
  await call("DELETE", `/instances/${base.id}`);

  const rows: string[][] = [];
  for (const n of SIZES) {
    const diskBefore = await allocatedSize(dataDir);
    const memBefore = memAvailable();
    const latencies: number[] = [];
    const wall = performance.now();
    const forks = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = performance.now();
        const f = await call("POST", `/snapshots/${snap.id}/fork`, { name: `f${n}-${i}` });
        latencies.push(performance.now() - t);
        return f;
      }),
    );
    const wallMs = performance.now() - wall;
    await Bun.sleep(1000);
    const diskAdded = (await allocatedSize(dataDir)) - diskBefore;
    const memAdded = memBefore - memAvailable();
    rows.push([
      String(n),
      wallMs.toFixed(0),
      median(latencies).toFixed(0),
      `${(median(latencies) / bareMs).toFixed(2)}x`,
      (diskAdded / n / 1e6).toFixed(1),
      (memAdded / n / 1e6).toFixed(0),
    ]);
    for (const f of forks) await call("DELETE", `/instances/${f.id}`);
  }
  printTable(
    `fan-out from one Standby snapshot (256 MiB guest); bare QMP restore of the same memory until the agent answers: ${bareMs.toFixed(0)} ms`,
    ["forks", "wall (ms)", "per fork median (ms)", "vs bare restore", "disk added/fork (MB)", "host mem added/fork (MB)"],
    rows,
  );
} finally {
  await svc.close();
}
