// Standby and restore latency through snapvisor's API, with guest RAM in a file (the default) and in anonymous
// memory (the migration-stream path every payload used before), against the same QMP sequence driven by a bare
// script (`migrate exec:`, raw socket, no service) on the same VM configuration, in one run, per guest size.
// Prints medians and ratios.
//   bun scripts/bench/lifecycle.ts [--rounds 7] [--guests 256MB,1GB]
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

const { values } = parseArgs({ options: { rounds: { type: "string", default: "7" }, guests: { type: "string", default: "256MB,1GB" } } });
const ROUNDS = Number(values.rounds);

interface Rounds {
  standby: number[];
  restore: number[];
}

/**
 * ROUNDS standby/restore cycles of one booted guest through the API; also the hardware it runs, whose files (kernel,
 * initrd in the service's data dir) last until `close`.
 */
async function apiRounds(guest: string, memory: "file" | "anonymous"): Promise<Rounds & { config: VmConfig; close(): Promise<void> }> {
  const svc = await benchService({ hypervisors: { qemu: { memory } } });
  try {
    const inst = await svc.call("POST", "/instances", { name: "bench", size: guest, overlay_size: "128MB" });
    await svc.call("POST", `/instances/${inst.id}/start`);
    await Bun.sleep(2000);
    const rounds: Rounds = { standby: [], restore: [] };
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      await svc.call("POST", `/instances/${inst.id}/standby`);
      rounds.standby.push(performance.now() - t);
      t = performance.now();
      await svc.call("POST", `/instances/${inst.id}/restore`);
      rounds.restore.push(performance.now() - t);
    }
    // The hardware the API's guest runs (NIC, vmgenid, boot words included), so both sides run the same VM.
    const config = (await readLaunchRecord(join(svc.dataDir, "guests", inst.id), "qemu")).config as unknown as VmConfig;
    await svc.call("DELETE", `/instances/${inst.id}`);
    return { ...rounds, config, close: () => svc.close() };
  } catch (err) {
    await svc.close();
    throw err;
  }
}

/** The same cycles from a plain script: stop + `migrate exec:cat` + quit, and a bare restore of that stream. */
async function bareRounds(config: VmConfig): Promise<Rounds & { ready: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), "sv-bare-"));
  mkdirSync(join(dir, "logs"));
  Bun.spawnSync(["cp", "--sparse=always", join(GUEST_DIR, "rootfs.ext4"), join(dir, "disk.raw")]);
  const bare = { standby: [] as number[], restore: [] as number[], ready: [] as number[] };
  let proc = Bun.spawn(["qemu-system-x86_64", ...qemuArgv(config, dir, BARE_MACHINE)], { stdout: "ignore", stderr: "inherit" });
  let qmp = await Qmp.connect(join(dir, "qmp.sock"));
  await Bun.sleep(4000);
  for (let i = 0; i < ROUNDS; i++) {
    const mem = join(dir, `memory-${i}`);
    const t = performance.now();
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
  return bare;
}

const ms = (values: number[]) => median(values).toFixed(0);
const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}x`;
const standbyByGuest: string[][] = [];
for (const guest of values.guests.split(",")) {
  const anonymous = await apiRounds(guest, "anonymous");
  await anonymous.close();
  const file = await apiRounds(guest, "file");
  const bare = await bareRounds(file.config).finally(() => file.close());
  standbyByGuest.push([guest, ms(bare.standby), ms(anonymous.standby), ms(file.standby), ratio(file.standby, bare.standby)]);
  printTable(
    `standby/restore of the default guest (${guest}, ${BARE_MACHINE.accel}), median of ${ROUNDS} rounds`,
    ["operation", "bare script (ms)", "API, anonymous RAM (ms)", "API, RAM file (ms)", "RAM file vs bare"],
    [
      ["standby (bare: QMP stop + migrate exec: + quit; the API also makes it durable)", ms(bare.standby), ms(anonymous.standby), ms(file.standby), ratio(file.standby, bare.standby)],
      ["restore (bare: QMP incoming + cont)", ms(bare.restore), ms(anonymous.restore), ms(file.restore), ratio(file.restore, bare.restore)],
      ["restore until the guest agent answers (the API's Running)", ms(bare.ready), ms(anonymous.restore), ms(file.restore), ratio(file.restore, bare.ready)],
    ],
  );
}
printTable("standby by guest size (medians, ms)", ["guest", "bare migrate exec:", "API, anonymous RAM", "API, RAM file", "RAM file vs bare"], standbyByGuest);
