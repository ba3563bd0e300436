// auto_standby on POST/PATCH /instances and its status, hold and release, without guests (reference-network §4).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ guestImageDir: "/nonexistent-guest-dir" });
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

const create = (name: string, auto_standby?: unknown) =>
  svc.call("POST", "/instances", { name, image: "fake", size: "128MB", overlay_size: "16MB", ...(auto_standby ? { auto_standby } : {}) });

describe("auto_standby", () => {
  test("create normalises the policy; PATCH replaces it; a disabled one keeps only enabled:false", async () => {
    const res = await create("idle", { enabled: true, idle_timeout: "5m", ignore_source_cidrs: ["10.1.2.3/8", "10.0.0.0/8"], ignore_destination_ports: [9100, 22, 22] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.auto_standby).toEqual({ enabled: true, idle_timeout: "5m0s", ignore_source_cidrs: ["10.0.0.0/8"], ignore_destination_ports: [22, 9100] });
    const patched = await svc.call("PATCH", "/instances/idle", { auto_standby: { enabled: false, idle_timeout: "1s" } });
    expect(patched.status).toBe(200);
    expect(patched.body.auto_standby).toEqual({ enabled: false });
    expect((await create("plain")).body.auto_standby).toBeNull();
  });

  test("every violation is 400 invalid_auto_standby naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ enabled: true }, "idle_timeout"],
      [{ enabled: true, idle_timeout: "0s" }, "idle_timeout"],
      [{ enabled: true, idle_timeout: "soon" }, "idle_timeout"],
      [{ enabled: true, idle_timeout: "1m", ignore_source_cidrs: ["10.0.0.1"] }, "ignore_source_cidrs[0]"],
      [{ enabled: true, idle_timeout: "1m", ignore_destination_ports: [70000] }, "ignore_destination_ports[0]"],
    ];
    for (const [auto_standby, field] of cases) {
      const res = await svc.call("PATCH", "/instances/plain", { auto_standby });
      expect(res.status, JSON.stringify(auto_standby)).toBe(400);
      expect(res.body.code).toBe("invalid_auto_standby");
      expect(res.body.message).toContain(field);
    }
  });

  test("status follows the reference's order; hold and release answer the status", async () => {
    const status = async (ref: string) => (await svc.call("GET", `/instances/${ref}/auto-standby/status`)).body;
    expect(await status("plain")).toMatchObject({ configured: false, status: "disabled", reason: "policy_missing", tracking_mode: "ingress_and_agent" });
    expect(await status("idle")).toMatchObject({ configured: true, enabled: false, status: "disabled", reason: "policy_disabled" });
    await svc.call("PATCH", "/instances/idle", { auto_standby: { enabled: true, idle_timeout: "90s" } });
    expect(await status("idle")).toMatchObject({ enabled: true, eligible: false, status: "ineligible", reason: "instance_not_running", idle_timeout: "1m30s" });
    const held = await svc.call("POST", "/instances/idle/auto-standby/hold");
    expect(held.status).toBe(200);
    expect(held.body.status).toBe("ineligible");
    expect((await svc.call("DELETE", "/instances/idle/auto-standby/hold")).status).toBe(200);
    expect((await svc.call("GET", "/instances/nope/auto-standby/status")).status).toBe(404);
  });
});
