// The least QMP a benchmark's bare baseline needs: greeting, capabilities, commands, one event wait. Kept
// apart from src/hv/qemu/qmp-client.ts on purpose: the baseline must not include our own client. bareRestore is the
// baseline restore both the lifecycle and the fan-out benchmarks compare with.
import { join } from "node:path";
import { waitForAgent } from "../../src/hv/guest-agent/index.ts";
import type { VmConfig } from "../../src/hv/hypervisor.ts";
import { chooseAccel, probeHost } from "../../src/hv/qemu/accel.ts";
import { incomingArgv } from "../../src/hv/qemu/argv.ts";

/** The machine snapvisor runs, for bare QEMU command lines. */
export const BARE_MACHINE = { machine: "pc-q35-7.2", accel: chooseAccel("auto", probeHost()) };
const AGENT_TIMEOUT_MS = 30_000;

export interface BareRestore {
  proc: import("bun").Subprocess;
  qmp: BareQmp;
  /** From spawn to `cont` answered. */
  resumedMs: number;
  /** From spawn to the guest agent's first answer (what snapvisor's "Running" means). */
  readyMs: number;
}

/** QEMU on `dir` with `-incoming defer`, the migration stream in `memory` loaded and resumed, the agent answering. */
export async function bareRestore(config: VmConfig, dir: string, memory: string): Promise<BareRestore> {
  const t = performance.now();
  const proc = Bun.spawn(["qemu-system-x86_64", ...incomingArgv(config, dir, BARE_MACHINE)], { stdout: "ignore", stderr: "inherit" });
  const qmp = await BareQmp.connect(join(dir, "qmp.sock"));
  await qmp.cmd("migrate-incoming", { uri: `exec:cat ${memory}` });
  await qmp.event("MIGRATION", (d) => d.status === "completed");
  await qmp.cmd("cont");
  const resumedMs = performance.now() - t;
  // Under TCG the first answer after a restore is slow: the new process re-translates the guest's code.
  await waitForAgent(join(dir, "agent.sock"), { timeoutMs: AGENT_TIMEOUT_MS });
  return { proc, qmp, resumedMs, readyMs: performance.now() - t };
}
/**
 * The memory of a RAM-file payload (`payload`: its RAM file `memory` and device state `state`) as a migration stream
 * in `dir`, what the bare baselines restore: loaded by a bare QEMU mapping the file copy-on-write, then migrated out
 * whole. Returns the stream's path.
 */
export async function bareStreamOf(config: VmConfig, dir: string, payload: string): Promise<string> {
  const stream = join(dir, "bare-stream");
  const ram = { path: join(payload, "memory"), share: false };
  const proc = Bun.spawn(["qemu-system-x86_64", ...incomingArgv(config, dir, BARE_MACHINE, ram)], { stdout: "ignore", stderr: "inherit" });
  const qmp = await BareQmp.connect(join(dir, "qmp.sock"));
  await qmp.cmd("migrate-set-capabilities", { capabilities: [{ capability: "x-ignore-shared", state: true }] });
  await qmp.cmd("migrate-incoming", { uri: `exec:cat ${join(payload, "state")}` });
  await qmp.event("MIGRATION", (d) => d.status === "completed");
  await qmp.cmd("migrate-set-capabilities", { capabilities: [{ capability: "x-ignore-shared", state: false }] });
  await qmp.cmd("migrate", { uri: `exec:cat > ${stream}` });
  await qmp.event("MIGRATION", (d) => d.status === "completed");
  await qmp.cmd("quit").catch(() => {});
  await proc.exited;
  return stream;
}

export class BareQmp {
  private buf = "";
  private waiters: ((msg: Record<string, any>) => boolean)[] = [];
  /** Events nobody waited for yet since the last command was sent: a short migration's completion can arrive in
   * the same read as the command's return, before the caller asks for it. */
  private unclaimed: Record<string, any>[] = [];
  private constructor(private readonly socket: import("bun").Socket<undefined>) {}

  static async connect(path: string): Promise<BareQmp> {
    for (let i = 0; ; i++) {
      try {
        let q!: BareQmp;
        const socket = await Bun.connect({
          unix: path,
          socket: { data: (_s, chunk) => q.onData(chunk.toString()) },
        });
        q = new BareQmp(socket);
        await q.next((m) => "QMP" in m);
        await q.cmd("qmp_capabilities");
        await q.cmd("migrate-set-parameters", { "max-bandwidth": 1099511627776 });
        await q.cmd("migrate-set-capabilities", { capabilities: [{ capability: "events", state: true }] });
        return q;
      } catch (err) {
        if (i > 500) throw err;
        await Bun.sleep(5);
      }
    }
  }

  private onData(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      const before = this.waiters.length;
      this.waiters = this.waiters.filter((w) => !w(msg));
      if (this.waiters.length === before && "event" in msg) this.unclaimed.push(msg);
    }
  }

  private next(match: (m: Record<string, any>) => boolean): Promise<Record<string, any>> {
    return new Promise((resolve) =>
      this.waiters.push((m) => {
        if (!match(m)) return false;
        resolve(m);
        return true;
      }),
    );
  }

  async cmd(execute: string, args?: unknown): Promise<unknown> {
    const reply = this.next((m) => "return" in m || "error" in m);
    this.unclaimed = [];
    this.socket.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    const m = await reply;
    if ("error" in m) throw new Error(`${execute}: ${m.error.desc}`);
    return m.return;
  }

  event(name: string, pred: (data: Record<string, any>) => boolean): Promise<Record<string, any>> {
    const match = (m: Record<string, any>) => m.event === name && pred(m.data ?? {});
    const early = this.unclaimed.findIndex(match);
    if (early >= 0) return Promise.resolve(this.unclaimed.splice(early, 1)[0]!);
    return this.next(match);
  }
}
