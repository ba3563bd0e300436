// Small helpers shared by the tests that boot real guests through the API: create/boot, exec, and the guest's
// `tick N` console counter, the proof that a restore continued the same VM instead of booting a new one.
import { afterAll, beforeAll, expect } from "bun:test";
import type { ExecResult } from "../../src/plugin/client.ts";
import type { SnapvisorOptions } from "../../src/plugin/create-snapvisor.ts";
import { ensureGuestImage, startService, type TestService } from "../harness.ts";

export const GUEST_SIZE = "256MB";

/** One service per test file, with the guest image built; after the file, no VMM of it may be left running. */
export function withGuestService(use: (svc: TestService) => void, opts: Partial<SnapvisorOptions> = {}): void {
  let svc: TestService;
  beforeAll(async () => {
    await ensureGuestImage();
    svc = await startService(opts);
    use(svc);
  });
  afterAll(async () => {
    await svc.close();
    expect(vmmProcesses(svc.dataDir)).toEqual([]);
  });
}

export async function bootGuest(svc: TestService, name: string, extra: Record<string, unknown> = {}): Promise<{ id: string }> {
  const created = await svc.call("POST", "/instances", { name, size: GUEST_SIZE, overlay_size: "128MB", ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const started = await svc.call("POST", `/instances/${created.body.id}/start`);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  expect(started.body.state).toBe("Running");
  return created.body;
}

export async function exec(svc: TestService, ref: string, command: string | string[]) {
  const res = await svc.call("POST", `/instances/${ref}/exec`, { command });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as ExecResult;
}

/** The guest's counter, read through the agent (it lives in guest RAM). */
export async function tick(svc: TestService, ref: string): Promise<number> {
  return Number((await exec(svc, ref, "cat /run/tick")).stdout.trim());
}

/**
 * The serial console as text, read raw: it is empty until the guest prints (a fork right after its restore), which
 * `svc.call` would hand back as an undefined body. A failed call throws with its status and body.
 */
async function consoleLog(svc: TestService, ref: string): Promise<string> {
  const res = await svc.sv.app.request(`/instances/${ref}/logs?lines=100000`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /instances/${ref}/logs answered ${res.status}: ${text}`);
  return text;
}

/** All `tick N` values the console printed, in order. */
export async function consoleTicks(svc: TestService, ref: string): Promise<number[]> {
  return [...(await consoleLog(svc, ref)).matchAll(/^tick (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

export async function bootCount(svc: TestService, ref: string): Promise<number> {
  return [...(await consoleLog(svc, ref)).matchAll(/BOOT-MARKER/g)].length;
}

/** Waits until the console shows at least `n` ticks (the guest has run for a while). */
export async function waitForTicks(svc: TestService, ref: string, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await consoleTicks(svc, ref)).length < n) {
    if (Date.now() > deadline) throw new Error(`guest ${ref} printed fewer than ${n} ticks in ${timeoutMs} ms`);
    await Bun.sleep(200);
  }
}

/** True when the sequence never restarts: every tick is the previous one + 1. */
export function isContinuous(ticks: number[]): boolean {
  return ticks.every((t, i) => i === 0 || t === ticks[i - 1]! + 1);
}

/** QEMU processes whose command line mentions `needle` (a guest dir). */
export function vmmProcesses(needle: string): number[] {
  const out = Bun.spawnSync(["pgrep", "-f", needle]).stdout.toString().trim();
  return out ? out.split("\n").map(Number) : [];
}
