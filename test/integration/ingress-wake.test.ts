// Wake on request through the ingress, with a real guest in user mode (every byte over host loopback): busybox
// httpd in the guest serves a page and two CGI scripts (env, echo). A request for a Standby guest is answered by
// the guest after one restore shared by concurrent requests; a request racing a standby is answered; a wake that
// outlasts the wait timeout is a 503 with Retry-After; header auth is checked and stripped.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { withGuestService } from "./guest.ts";
import { bootSite, freeLoopbackPort, HTTP_PORT, instanceState, viaIngress as through } from "./ingress-guest.ts";

const HOST = "web.ingress.test";
const SECRET = "k".repeat(40);
const INGRESS_PORT = freeLoopbackPort();
let svc: TestService;
withGuestService((s) => (svc = s), { ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`], waitTimeoutMs: 60_000 } });

/** A request through the ingress carrying the rule's secret unless the test sends its own. */
function viaIngress(path = "/", init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("x-key")) headers.set("x-key", SECRET);
  return through(INGRESS_PORT, HOST, path, { ...init, headers });
}

const state = (ref: string) => instanceState(svc, ref);
const wakes = async () => (await svc.sv.core.metrics.ingressWakes.get()).values.find((v) => v.labels.result === "success")?.value ?? 0;

describe("ingress wake on request (user mode)", () => {
  test("a running guest is served through the ingress: headers forwarded, auth stripped, bodies streamed", async () => {
    await bootSite(svc, "web");
    const ingress = await svc.call("POST", "/ingresses", {
      name: "web",
      rules: [
        {
          match: { hostname: HOST, port: INGRESS_PORT },
          target: { instance: "web", port: HTTP_PORT },
          request_header_auth: { header: "X-Key", value: SECRET },
        },
      ],
    });
    expect(ingress.status, JSON.stringify(ingress.body)).toBe(201);

    const page = await viaIngress("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("hello\n");

    const env = await (await viaIngress("/cgi-bin/env")).text();
    expect(env).toContain("HTTP_X_FORWARDED_FOR=127.0.0.1");
    expect(env).toContain("HTTP_X_FORWARDED_PROTO=http");
    expect(env).toContain(`HTTP_X_FORWARDED_HOST=${HOST}`);
    expect(env).not.toContain(SECRET);

    // Past the 1 MiB the proxy reads first: this body streams through.
    const payload = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => (i * 7) & 0xff);
    const echoed = await viaIngress("/cgi-bin/echo", { method: "POST", body: payload });
    expect(new Uint8Array(await echoed.arrayBuffer())).toEqual(payload);

    const refused = await viaIngress("/", { headers: { "x-key": "wrong" } });
    expect(refused.status).toBe(403);
  });

  test("a Standby guest is woken by the first request; concurrent requests share one restore", async () => {
    expect((await svc.call("POST", "/instances/web/standby", {})).status).toBe(200);
    expect(await state("web")).toBe("Standby");
    const before = await wakes();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => viaIngress("/").then((r) => r.text())));
    console.log(`wake to first byte for 8 concurrent requests: ${(performance.now() - started).toFixed(0)} ms`);
    expect(answers).toEqual(Array(8).fill("hello\n"));
    expect(await wakes()).toBe(before + 1);
    expect(await state("web")).toBe("Running");
  });

  test("a request racing a standby is answered by the guest", async () => {
    for (let round = 0; round < 3; round++) {
      const standby = svc.call("POST", "/instances/web/standby", {});
      const answer = viaIngress("/").then(async (r) => [r.status, await r.text()] as const);
      expect((await standby).status).toBe(200);
      expect(await answer).toEqual([200, "hello\n"]);
    }
  });

  test("a wake that outlasts the wait timeout is a JSON 503 with Retry-After, and the next request is served", async () => {
    const id = (await svc.call("GET", "/instances/web")).body.id;
    const config = svc.sv.config.ingress;
    config.waitTimeoutMs = 500;
    // A lifecycle operation holding the instance's lock (as a long standby would) keeps the wake waiting.
    let release!: () => void;
    const held = svc.sv.core.locks.run(id, () => new Promise<void>((r) => (release = r)));
    try {
      const res = await viaIngress("/");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe(String(config.retryAfterSeconds));
      expect(((await res.json()) as { code: string }).code).toBe("wake_timeout");
    } finally {
      release();
      await held;
      config.waitTimeoutMs = 60_000;
    }
    expect(await (await viaIngress("/")).text()).toBe("hello\n");
  });
});
