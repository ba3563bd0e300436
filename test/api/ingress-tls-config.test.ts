// A rule with `tls: true` needs a TLS listener: refused at create time with a 400 naming the field when none is
// configured, and rules kept from an earlier configuration that had one are reported at start-up.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/service/logger.ts";
import { registerFakeImage, startService } from "../harness.ts";
import { freeLoopbackPort } from "../integration/ingress-guest.ts";

const dataDir = mkdtempSync(join(tmpdir(), "sv-ingress-tls-config-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const tlsRule = (hostname: string, port: number) => ({ match: { hostname, port }, target: { instance: "web", port: 80 }, tls: true });

test("tls: true without a TLS listener is a 400 naming rules[i].tls; existing tls rules are reported at start-up", async () => {
  // First run: a TLS listener from a self-signed certificate, and one tls rule.
  const certDir = mkdtempSync(join(tmpdir(), "sv-ingress-tls-cert-"));
  const [cert, key] = [join(certDir, "cert.pem"), join(certDir, "key.pem")];
  const openssl = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=tls.local.test", "-keyout", key, "-out", cert], { timeout: 30_000 });
  expect(openssl.exitCode, openssl.stderr.toString()).toBe(0);
  const tlsPort = freeLoopbackPort();
  const first = await startService({ dataDir, guestImageDir: "/nonexistent-guest-dir", ingress: { listen: [], tls: { cert, key, listen: [`127.0.0.1:${tlsPort}`] } } });
  try {
    await registerFakeImage(first);
    expect((await first.call("POST", "/instances", { name: "web", image: "fake", size: "128MB", overlay_size: "16MB" })).status).toBe(201);
    const kept = await first.call("POST", "/ingresses", { name: "secure", rules: [tlsRule("secure.local.test", tlsPort)] });
    expect(kept.status, JSON.stringify(kept.body)).toBe(201);
  } finally {
    await first.close();
    rmSync(certDir, { recursive: true, force: true });
  }

  // Second run on the same data: no TLS listener.
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (msg: string, fields?: object) => void warnings.push(`${msg} ${JSON.stringify(fields)}`) };
  const second = await startService({ dataDir, guestImageDir: "/nonexistent-guest-dir", ingress: { listen: [`127.0.0.1:${freeLoopbackPort()}`] }, logger });
  try {
    expect(warnings.filter((w) => w.includes("no TLS listener"))).toEqual([expect.stringContaining('"secure"')]);
    const refused = await second.call("POST", "/ingresses", { name: "plain", rules: [{ match: { hostname: "a.local.test", port: 8080 }, target: { instance: "web", port: 80 } }, tlsRule("b.local.test", 8443)] });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("tls_not_configured");
    expect(refused.body.message).toContain("rules[1].tls");
    expect((await second.call("GET", "/ingresses/plain")).status).toBe(404);
  } finally {
    await second.close();
  }
});
