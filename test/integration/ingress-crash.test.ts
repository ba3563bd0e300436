// kill -9 of the server with ingress traffic in flight: a Standby guest is being woken by a burst of requests when
// the server process is SIGKILLed. After a restart (same data dir and config) the instance is Standby or Running,
// never half-woken, at most one VMM runs for it, and the ingress serves it again. The server is a child process
// (test/fixtures/serve-unix.ts) reached through its Unix socket; its config file enables the ingress on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage } from "../harness.ts";
import { childApi, startChildServer, stopChildServerAndGuests, type ChildProcess } from "../child-server.ts";
import { vmmProcesses } from "./guest.ts";
import { addIngress, bootSite, freeLoopbackPort, viaIngress } from "./ingress-guest.ts";

const HOST = "crash.ingress.test";
const INGRESS_PORT = freeLoopbackPort();
const dataDir = mkdtempSync(join(tmpdir(), "sv-ingress-crash-"));
const api = childApi(dataDir);
let server: ChildProcess | undefined;

async function startServer(): Promise<void> {
  const { child, line } = await startChildServer(dataDir, { env: { SNAPVISOR_CONFIG: join(dataDir, "config.json") } });
  expect(line).toBe("ready");
  server = child;
}

beforeAll(async () => {
  await ensureGuestImage();
  writeFileSync(join(dataDir, "config.json"), JSON.stringify({ ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`] }, scheduler: { enabled: false } }));
  await startServer();
});

afterAll(() => stopChildServerAndGuests(server, dataDir));

describe("kill -9 with ingress traffic in flight", () => {
  test("after a restart the instance is Standby or Running with one VMM, and the ingress serves it again", async () => {
    const { id } = await bootSite(api, "crash");
    await addIngress(api, "crash", INGRESS_PORT, HOST);
    expect(await (await viaIngress(INGRESS_PORT, HOST)).text()).toBe("hello\n");
    expect((await api.call("POST", "/instances/crash/standby", {})).status).toBe(200);

    // A burst that starts a wake; the server dies while it is under way.
    const burst = Array.from({ length: 20 }, () => viaIngress(INGRESS_PORT, HOST).then((r) => r.status, () => "dropped"));
    await Bun.sleep(30);
    server!.kill("SIGKILL");
    await server!.exited;
    server = undefined;
    const outcomes = await Promise.all(burst);
    console.log(`in flight at the kill: ${outcomes.filter((o) => o === 200).length} answered, ${outcomes.filter((o) => o !== 200).length} dropped with the server`);

    await startServer();
    const after = await api.call("GET", "/instances/crash");
    expect(["Standby", "Running"]).toContain(after.body.state);
    expect(vmmProcesses(join(dataDir, "guests", id)).length).toBeLessThanOrEqual(1);
    const res = await viaIngress(INGRESS_PORT, HOST);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello\n");
    expect((await api.call("GET", "/instances/crash")).body.state).toBe("Running");
    expect(vmmProcesses(join(dataDir, "guests", id)).length).toBe(1);
  });
});
