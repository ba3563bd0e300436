// POST/GET/DELETE /ingresses without guests: the reference's validation and codes (reference-network §3), our
// path_prefix, the secret never echoed, the listener's JSON 404 and 503, and TLS from a configured certificate.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerFakeImage, startService, type TestService } from "../harness.ts";
import { freeLoopbackPort } from "../integration/ingress-guest.ts";

let svc: TestService;
let listenPort: number;
let tlsPort: number;

beforeAll(async () => {
  listenPort = freeLoopbackPort();
  tlsPort = freeLoopbackPort();
  // A self-signed certificate for the TLS listener, made in a temp dir (removed with the service's data dir).
  const certDir = mkdtempSync(join(tmpdir(), "sv-ingress-tls-"));
  const [cert, key] = [join(certDir, "cert.pem"), join(certDir, "key.pem")];
  const openssl = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=web.local.test", "-keyout", key, "-out", cert], { timeout: 30_000 });
  expect(openssl.exitCode, openssl.stderr.toString()).toBe(0);
  svc = await startService({
    guestImageDir: "/nonexistent-guest-dir",
    ingress: { listen: [`127.0.0.1:${listenPort}`], tls: { cert, key, listen: [`127.0.0.1:${tlsPort}`] } },
  });
  rmSync(certDir, { recursive: true, force: true });
  await registerFakeImage(svc);
  const made = await svc.call("POST", "/instances", { name: "web", image: "fake", size: "128MB", overlay_size: "16MB" });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
});
afterAll(() => svc.close());

const literal = (hostname: string, extra: Record<string, unknown> = {}) => ({
  match: { hostname, port: 8080 },
  target: { instance: "web", port: 80 },
  ...extra,
});

describe("ingresses", () => {
  test("create, get by name and prefix, list by tags, delete", async () => {
    const secret = "s".repeat(40);
    const res = await svc.call("POST", "/ingresses", {
      name: "apps",
      tags: { team: "a" },
      rules: [
        literal("web.example.test", { request_header_auth: { header: "X-Key", value: secret } }),
        { match: { hostname: "{instance}.apps.test", port: 8080, path_prefix: "/api/" }, target: { instance: "{instance}", port: 80 } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.rules[0].request_header_auth).toEqual({ header: "x-key" });
    expect(JSON.stringify(res.body)).not.toContain(secret);
    expect(res.body.rules[1].match).toEqual({ hostname: "{instance}.apps.test", port: 8080, path_prefix: "/api" });
    expect((await svc.call("GET", "/ingresses/apps")).body.id).toBe(res.body.id);
    expect((await svc.call("GET", `/ingresses/${res.body.id.slice(0, 6)}`)).body.name).toBe("apps");
    expect((await svc.call("GET", "/ingresses?tags[team]=a")).body).toHaveLength(1);
    expect((await svc.call("GET", "/ingresses?tags[team]=b")).body).toHaveLength(0);
    expect((await svc.call("DELETE", "/ingresses/apps")).status).toBe(204);
    expect((await svc.call("GET", "/ingresses/apps")).status).toBe(404);
  });

  test("the reference's refusals, each naming the field", async () => {
    const cases: [unknown, number, string, string][] = [
      [{ name: "Bad_Name", rules: [literal("a.test")] }, 400, "invalid_request", "name"],
      [{ name: "x", rules: [] }, 400, "invalid_request", "rules"],
      [{ name: "x", rules: [literal("*.test")] }, 400, "invalid_request", "rules[0].match.hostname"],
      [{ name: "x", rules: [literal("a.test", { redirect_http: true })] }, 400, "invalid_request", "redirect_http"],
      [{ name: "x", rules: [literal("a.test", { target: { instance: "nope", port: 80 } })] }, 400, "instance_not_found", "rules[0].target.instance"],
      [{ name: "x", rules: [literal("a.test", { request_header_auth: { header: "Cookie", value: "v".repeat(40) } })] }, 400, "invalid_request", "reserved"],
      [{ name: "x", rules: [literal("a.test", { target: { instance: "web", port: 0 } })] }, 400, "invalid_request", "target.port"],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await svc.call("POST", "/ingresses", body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code).toBe(code);
      expect(res.body.message).toContain(field);
    }
  });

  test("a hostname and port already served is 409 hostname_in_use; a duplicate name is 409 already_exists", async () => {
    expect((await svc.call("POST", "/ingresses", { name: "one", rules: [literal("dup.test")] })).status).toBe(201);
    const taken = await svc.call("POST", "/ingresses", { name: "two", rules: [literal("dup.test")] });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("hostname_in_use");
    const other = await svc.call("POST", "/ingresses", { name: "two", rules: [literal("dup.test", { match: { hostname: "dup.test", port: 8080, path_prefix: "/x" } })] });
    expect(other.status).toBe(201);
    const again = await svc.call("POST", "/ingresses", { name: "one", rules: [literal("other.test")] });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("already_exists");
  });

  test("the listener answers unmatched hosts with a JSON 404, and a Stopped target with 503 naming its state", async () => {
    const none = await fetch(`http://127.0.0.1:${listenPort}/`, { headers: { host: "unknown.test" }, signal: AbortSignal.timeout(5_000) });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { code: string }).code).toBe("no_route");
    const stopped = await fetch(`http://127.0.0.1:${listenPort}/`, { signal: AbortSignal.timeout(5_000) });
    expect(stopped.status).toBe(404); // no rule for 127.0.0.1
    expect((await svc.call("POST", "/ingresses", { name: "local", rules: [{ match: { hostname: "web.local.test", port: listenPort }, target: { instance: "web", port: 80 } }] })).status).toBe(201);
    const res = await fetch(`http://127.0.0.1:${listenPort}/`, { headers: { host: "web.local.test" }, signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("instance_stopped");
    expect(body.message).toContain("Stopped");
  });

  test("TLS: a tls rule is served on the TLS listener; on the plain one redirect_http answers 301 to https", async () => {
    const rule = { match: { hostname: "secure.local.test", port: listenPort }, target: { instance: "web", port: 80 }, tls: true, redirect_http: true };
    const onTls = { ...rule, match: { hostname: "secure.local.test", port: tlsPort } };
    expect((await svc.call("POST", "/ingresses", { name: "secure", rules: [rule, onTls] })).status).toBe(201);
    const plain = await fetch(`http://127.0.0.1:${listenPort}/a?b=1`, { headers: { host: "secure.local.test" }, redirect: "manual", signal: AbortSignal.timeout(5_000) });
    expect(plain.status).toBe(301);
    expect(plain.headers.get("location")).toBe("https://secure.local.test/a?b=1");
    const tls = await fetch(`https://127.0.0.1:${tlsPort}/`, { headers: { host: "secure.local.test" }, tls: { rejectUnauthorized: false }, signal: AbortSignal.timeout(5_000) });
    expect(tls.status).toBe(503); // matched over TLS: the Stopped target is named
    expect(((await tls.json()) as { code: string }).code).toBe("instance_stopped");
  });
});
