// Networked guests, user mode (QEMU slirp) and bridge mode (TAP on a managed bridge) side by side:
//   * fork → Running from a Standby snapshot whose guest has a network (the handoff reconfigures eth0) vs one
//     without (only the hostname and entropy handoffs run);
//   * guest → host TCP throughput: the guest pipes zeros through busybox nc to a Bun listener of this script on its
//     gateway address (user mode: slirp's 10.0.2.2 is host loopback; bridge mode: the bridge's address).
// Bridge mode runs this same script as `--child bridge` inside a network namespace it creates and deletes; user
// mode needs no privileges. Nothing is sent anywhere but loopback or that namespace.
//   bun scripts/bench/network.ts [--forks 5] [--mib 64]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { benchService } from "./bench-service.ts";
import { median, printTable } from "./report.ts";

const { values } = parseArgs({ options: { forks: { type: "string", default: "5" }, mib: { type: "string", default: "64" }, child: { type: "string" } } });
const FORKS = Number(values.forks);
const MIB = Number(values.mib);
const BRIDGE = { mode: "bridge", bridgeName: "svbench0", subnet: "10.204.0.0/24", uplink: "", nat: false, isolateGuests: true } as const;
const TRANSFER_TIMEOUT_MS = 300_000;

interface ModeResult {
  forkWithNetworkMs: number;
  forkWithoutNetworkMs: number;
  mibPerSec: number;
}

async function measure(mode: "user" | "bridge"): Promise<ModeResult> {
  const svc = await benchService({ network: mode === "user" ? { mode: "user" } : BRIDGE });
  const { call } = svc;
  try {
    const forkMs = async (network: boolean): Promise<number> => {
      const parent = await call("POST", "/instances", { name: `p-${network}`, size: "256MB", overlay_size: "128MB", network: { enabled: network } });
      await call("POST", `/instances/${parent.id}/start`);
      await Bun.sleep(2000);
      const snap = await call("POST", `/instances/${parent.id}/snapshots`, { kind: "Standby" });
      await call("POST", `/instances/${parent.id}/stop`);
      const times: number[] = [];
      for (let i = 0; i < FORKS; i++) {
        const t = performance.now();
        const fork = await call("POST", `/snapshots/${snap.id}/fork`, { name: `f-${network}-${i}`, target_state: "Running" });
        times.push(performance.now() - t);
        await call("DELETE", `/instances/${fork.id}`);
      }
      return median(times);
    };
    const forkWithNetworkMs = await forkMs(true);
    const forkWithoutNetworkMs = await forkMs(false);

    const guest = await call("POST", "/instances", { name: "sender", size: "256MB", overlay_size: "128MB" });
    await call("POST", `/instances/${guest.id}/start`);
    const caps = await call("GET", "/capabilities");
    const hostAddress = mode === "user" ? "127.0.0.1" : caps.network.gateway;
    const guestTarget = mode === "user" ? "10.0.2.2" : caps.network.gateway;
    let bytes = 0;
    let first = 0;
    let last = 0;
    let done!: (ms: number) => void;
    const finished = new Promise<number>((resolve) => (done = resolve));
    const listener = Bun.listen({
      hostname: hostAddress,
      port: 0,
      socket: {
        data(_s, chunk) {
          last = performance.now();
          if (bytes === 0) first = last;
          bytes += chunk.length;
        },
        // First to last byte: nc may linger (-w) after its input ends before it closes.
        close() {
          done(last - first);
        },
      },
    });
    const send = call("POST", `/instances/${guest.id}/exec`, {
      command: `dd if=/dev/zero bs=65536 count=${MIB * 16} 2>/dev/null | nc -w 10 ${guestTarget} ${listener.port}`,
      timeout_ms: TRANSFER_TIMEOUT_MS,
    });
    const ms = await Promise.race([finished, Bun.sleep(TRANSFER_TIMEOUT_MS).then(() => Number.NaN)]);
    await send;
    listener.stop(true);
    return { forkWithNetworkMs, forkWithoutNetworkMs, mibPerSec: bytes / 1024 / 1024 / (ms / 1000) };
  } finally {
    await svc.close();
  }
}

if (values.child === "user" || values.child === "bridge") {
  console.log(`RESULT ${JSON.stringify(await measure(values.child))}`);
  process.exit(0);
}

async function runChild(prefix: string[], mode: string): Promise<ModeResult> {
  const proc = Bun.spawn([...prefix, process.execPath, import.meta.path, "--child", mode, "--forks", String(FORKS), "--mib", String(MIB)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`${mode} run failed`);
  return JSON.parse(/^RESULT (.*)$/m.exec(out)![1]!) as ModeResult;
}

const user = await runChild([], "user");
const ns = `sv-bench-${randomBytes(4).toString("hex")}`;
let bridge: ModeResult;
Bun.spawnSync(["ip", "netns", "add", ns]);
try {
  Bun.spawnSync(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
  bridge = await runChild(["ip", "netns", "exec", ns], "bridge");
} finally {
  Bun.spawnSync(["ip", "netns", "del", ns]);
}
const ms = (v: number) => v.toFixed(0);
printTable(
  `networked guests (256 MiB default guest), user vs bridge mode; fork medians of ${FORKS}, TCP ${MIB} MiB guest → host`,
  ["measure", "user mode", "bridge mode"],
  [
    ["fork → Running, guest with network (handoff) (ms)", ms(user.forkWithNetworkMs), ms(bridge.forkWithNetworkMs)],
    ["fork → Running, guest without network (ms)", ms(user.forkWithoutNetworkMs), ms(bridge.forkWithoutNetworkMs)],
    ["network handoff cost (ms)", ms(user.forkWithNetworkMs - user.forkWithoutNetworkMs), ms(bridge.forkWithNetworkMs - bridge.forkWithoutNetworkMs)],
    ["guest → host TCP (MiB/s)", user.mibPerSec.toFixed(1), bridge.mibPerSec.toFixed(1)],
  ],
);
