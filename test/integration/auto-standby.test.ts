// Idle auto-standby with a real guest behind the ingress (user mode, loopback only): the guest goes to Standby
// after idle_timeout without traffic and the next request wakes it; an open WebSocket, an exec in flight and a
// hold each keep it awake; releasing the hold lets the countdown decide again.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { exec, withGuestService } from "./guest.ts";
import { addIngress, bootSite, freeLoopbackPort, instanceState, viaIngress, waitForState } from "./ingress-guest.ts";

const HOST = "idle.ingress.test";
const IDLE = "1s";
/** Several idle timeouts: long enough for a standby to have happened if anything let it. */
const WELL_PAST_IDLE_MS = 3_500;
const INGRESS_PORT = freeLoopbackPort();
let svc: TestService;
withGuestService((s) => (svc = s), { ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`] }, autoStandby: { tickMs: 100, maxConcurrent: 4 } });

const status = async () => (await svc.call("GET", "/instances/idle/auto-standby/status")).body;
const get = (path = "/") => viaIngress(INGRESS_PORT, HOST, path);

describe("idle auto-standby", () => {
  test("an idle guest goes to Standby after idle_timeout; the next request through the ingress wakes it", async () => {
    await bootSite(svc, "idle");
    await addIngress(svc, "idle", INGRESS_PORT, HOST);
    expect(await (await get()).text()).toBe("hello\n");
    const patched = await svc.call("PATCH", "/instances/idle", { auto_standby: { enabled: true, idle_timeout: IDLE } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await status()).toMatchObject({ eligible: true, status: "idle_countdown", reason: "idle_timeout_not_elapsed" });
    await waitForState(svc, "idle", "Standby");
    // The row turns Standby inside the standby; the decision counts it once that has returned (bounded: 50 × 20 ms).
    for (let i = 0; i < 50 && svc.sv.core.autoStandby.counts.standbys === 0; i++) await Bun.sleep(20);
    expect(svc.sv.core.autoStandby.counts.standbys).toBe(1);
    const res = await get();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello\n");
    expect(await instanceState(svc, "idle")).toBe("Running");
  });

  test("an open WebSocket keeps the guest awake; once it closes the guest goes to Standby", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${INGRESS_PORT}/ws`, { headers: { host: HOST } } as unknown as string[]);
    const greeting = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("WebSocket through the ingress failed"));
      ws.onclose = (e) => reject(new Error(`WebSocket closed before its greeting: ${e.code} ${e.reason}`));
    });
    expect(greeting).toBe("hello");
    await Bun.sleep(WELL_PAST_IDLE_MS);
    expect(await instanceState(svc, "idle")).toBe("Running");
    expect(await status()).toMatchObject({ status: "active", reason: "active_inbound_connections", active_inbound_connections: 1 });
    ws.onclose = null;
    ws.close();
    await waitForState(svc, "idle", "Standby");
  });

  test("an exec in flight keeps the guest awake", async () => {
    expect((await get()).status).toBe(200);
    const before = svc.sv.core.autoStandby.counts.standbys;
    const r = await exec(svc, "idle", `sleep ${WELL_PAST_IDLE_MS / 1000}; echo done`);
    expect(r.stdout.trim()).toBe("done");
    expect(svc.sv.core.autoStandby.counts.standbys).toBe(before);
    await waitForState(svc, "idle", "Standby");
  });

  test("a hold keeps the guest awake until released; a Standby instance cannot be held", async () => {
    const refused = await svc.call("POST", "/instances/idle/auto-standby/hold");
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("instance_in_standby");
    expect((await get()).status).toBe(200);
    const held = await svc.call("POST", "/instances/idle/auto-standby/hold");
    expect(held.status).toBe(200);
    expect(held.body.hold_until).not.toBeNull();
    // Holds replace each other: keep renewing past several idle timeouts.
    for (let i = 0; i < 4; i++) {
      await Bun.sleep(WELL_PAST_IDLE_MS / 4);
      expect((await svc.call("POST", "/instances/idle/auto-standby/hold")).status).toBe(200);
    }
    expect(await instanceState(svc, "idle")).toBe("Running");
    const released = await svc.call("DELETE", "/instances/idle/auto-standby/hold");
    expect(released.body.hold_until).toBeNull();
    await waitForState(svc, "idle", "Standby");
  });
});
