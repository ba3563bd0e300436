// Standby and restore latency of the default guest through snapvisor's API vs the same QMP sequence driven by a
// bare script (raw socket, no service) on the same VM configuration, in one run. Prints medians and ratios.
//   bun scripts/bench/lifecycle.ts [--rounds 7]
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { readLaunchRecord } from "../../src/store/payload/vm-record.ts";
import { qemuArgv } from "../../src/hv/qemu/argv.ts";
import { GUEST_DIR } from "../../test/harness.ts";
import { BARE_MACHINE, BareQmp as Qmp, bareRestore } from "./bare-qmp.ts";
import { benchService } from "./bench-service.ts";
import { median, printTable } from "./report.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const ROUNDS = Number(values.rounds);

const svc = await benchService();
const { call, dataDir } = svc;

try {
  // --- through the API ---
  const inst = await call("POST", "/instances", { name: "bench", size: "256MB", overlay_size: "128MB" });
  await call("POST", `/instances/${inst.id}/start`);
  await Bun.sleep(2000);
  const api = { standby: [] as number[], restore: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    await call("POST", `/instances/${inst.id}/standby`);
    api.standby.push(performance.now() - t);
    t = performance.now();
    await call("POST", `/instances/${inst.id}/restore`);
    api.restore.push(performance.now() - t);
  }
  // The hardware the API's guest runs (NIC, vmgenid, boot words included), so both sides run the same VM.
  const config = (await readLaunchRecord(join(dataDir, "guests", inst.id), "qemu")).config as unknown as VmConfig;
  await call("DELETE", `/instances/${inst.id}`);

  // --- bare: the same QMP sequence from a plain script ---
  const dir = mkdtempSync(join(tmpdir(), "sv-bare-"));
  mkdirSync(join(dir, "logs"));
  Bun.spawnSync(["cp", "--sparse=always", join(GUEST_DIR, "rootfs.ext4"), join(dir, "disk.raw")]);
  const bare = { standby: [] as number[], restore: [] as number[], ready: [] as number[] };
  let proc = Bun.spawn(["qemu-system-x86_64", ...qemuArgv(config, dir, BARE_MACHINE)], { stdout: "ignore", stderr: "inherit" });
  let qmp = await Qmp.connect(join(dir, "qmp.sock"));
  await Bun.sleep(4000);
  for (let i = 0; i < ROUNDS; i++) {
    const mem = join(dir, `memory-${i}`);
    let t = performance.now();
    await qmp.cmd("stop");
    await qmp.cmd("migrate", { uri: `exec:cat > ${mem}` });
    await qmp.event("MIGRATION", (d) => d.status === "completed");
    await qmp.cmd("quit").catch(() => {});
    await proc.exited;
    bare.standby.push(performance.now() - t);
    const restored = await bareRestore(config, dir, mem);
    ({ proc, qmp } = restored);
    bare.restore.push(restored.resumedMs);
    bare.ready.push(restored.readyMs);
    rmSync(mem);
  }
  proc.kill("SIGKILL");
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });

  const row = (op: string, b: number[], a: number[]) => [op, median(b).toFixed(0), median(a).toFixed(0), `${(median(a) / median(b)).toFixed(2)}x`];
  printTable(
    `standby/restore of the default guest (256 MiB, ${BARE_MACHINE.accel}), median of ${ROUNDS} rounds`,
    ["operation", "bare script (ms)", "snapvisor API (ms)", "ratio"],
    [
      row("standby (QMP stop+migrate+quit; API also makes it durable)", bare.standby, api.standby),
      row("restore (QMP incoming+cont)", bare.restore, api.restore),
      row("restore until the guest agent answers", bare.ready, api.restore),
    ],
  );
} finally {
  await svc.close();
}
