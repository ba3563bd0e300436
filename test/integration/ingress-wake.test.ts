// Wake on request through the ingress, with a real guest in user mode (every byte over host loopback): busybox
// httpd in the guest serves a page and two CGI scripts (env, echo). A request for a Standby guest is answered by
// the guest after one restore shared by concurrent requests; a request racing a standby is answered; a wake that
// outlasts the wait timeout is a 503 with Retry-After; header auth is checked and stripped.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootGuest, exec, withGuestService } from "./guest.ts";

const GUEST_PORT = 8080;
const HOST = "web.ingress.test";
const SECRET = "k".repeat(40);
const REQUEST_TIMEOUT_MS = 60_000;

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const INGRESS_PORT = freePort();
let svc: TestService;
withGuestService((s) => (svc = s), { ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`], waitTimeoutMs: 60_000 } });

/** One request through the ingress (loopback only), bounded in time. */
function viaIngress(path = "/", init: RequestInit & { host?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("host", init.host ?? HOST);
  if (!headers.has("x-key")) headers.set("x-key", SECRET);
  return fetch(`http://127.0.0.1:${INGRESS_PORT}${path}`, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

const state = async (ref: string) => (await svc.call("GET", `/instances/${ref}`)).body.state as string;
const wakes = async () => (await svc.sv.core.metrics.ingressWakes.get()).values.find((v) => v.labels.result === "success")?.value ?? 0;

const SITE = [
  "mkdir -p /www/cgi-bin",
  "echo hello >/www/index.html",
  `printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nenv\\n' >/www/cgi-bin/env`,
  `printf '#!/bin/sh\\necho Content-Type: application/octet-stream\\necho\\nhead -c "$CONTENT_LENGTH"\\n' >/www/cgi-bin/echo`,
  "chmod +x /www/cgi-bin/env /www/cgi-bin/echo",
  `(pidof httpd >/dev/null || httpd -p ${GUEST_PORT} -h /www)`,
].join(" && ");

describe("ingress wake on request (user mode)", () => {
  test("a running guest is served through the ingress: headers forwarded, auth stripped, bodies streamed", async () => {
    await bootGuest(svc, "web", { network: { port_forwards: [{ guest_port: GUEST_PORT }] } });
    expect((await exec(svc, "web", SITE)).exit_code).toBe(0);
    const ingress = await svc.call("POST", "/ingresses", {
      name: "web",
      rules: [
        {
          match: { hostname: HOST, port: INGRESS_PORT },
          target: { instance: "web", port: GUEST_PORT },
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

    const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
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
