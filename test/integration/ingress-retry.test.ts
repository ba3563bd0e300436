// What the ingress sends again and what it never does (user mode, real guest): an idempotent request whose answer
// does not start within the header timeout is sent again; a POST is not (a 504), so the guest runs it once. POSTs
// held through a wake each run once too, and a POST that boots a Stopped guest waits until the guest's server
// listens (a user-mode forward accepts before it does). The guest's counting CGI logs every request it runs.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { withGuestService } from "./guest.ts";
import { addIngress, bootSite, countedRequests, freeLoopbackPort, HTTP_PORT, startSite, viaIngress, waitForState } from "./ingress-guest.ts";

const HOST = "retry.ingress.test";
const INGRESS_PORT = freeLoopbackPort();
const HEADER_TIMEOUT_MS = 3_000;
/** Longer than the header timeout: the CGI's answer starts only after it. */
const SLEEP_S = 5;
let svc: TestService;
withGuestService((s) => (svc = s), { ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`], upstreamHeaderTimeoutMs: HEADER_TIMEOUT_MS, waitTimeoutMs: 90_000 } });

const slow = { "x-sleep": String(SLEEP_S) };

describe("ingress retries only what is safe to send again", () => {
  test("past the header timeout a POST is answered 504 and ran once; a GET was sent again", async () => {
    await bootSite(svc, "retry");
    await addIngress(svc, "retry", INGRESS_PORT, HOST);

    const post = await viaIngress(INGRESS_PORT, HOST, "/cgi-bin/count?id=slow-post", { method: "POST", body: "once", headers: slow });
    expect(post.status).toBe(504);
    expect(((await post.json()) as { code: string }).code).toBe("upstream_timeout");
    const get = await viaIngress(INGRESS_PORT, HOST, "/cgi-bin/count?id=slow-get", { headers: slow });
    expect(get.status).toBe(504);
    await get.text();

    const ran = await countedRequests(svc, "retry");
    expect(ran.get("POST id=slow-post")).toBe(1);
    expect(ran.get("GET id=slow-get")).toBeGreaterThan(1);
  }, 120_000);

  test("POSTs held through a wake are answered and each ran once", async () => {
    await svc.call("POST", "/instances/retry/standby", {});
    await waitForState(svc, "retry", "Standby");
    const ids = Array.from({ length: 6 }, (_, i) => `wake-${i}`);
    const answers = await Promise.all(
      ids.map(async (id) => {
        const res = await viaIngress(INGRESS_PORT, HOST, `/cgi-bin/count?id=${id}`, { method: "POST", body: id });
        return `${res.status} ${await res.text()}`;
      }),
    );
    expect(answers).toEqual(ids.map((id) => `200 ${id}`));
    const ran = await countedRequests(svc, "retry");
    expect(ids.map((id) => ran.get(`POST id=${id}`))).toEqual(ids.map(() => 1));
  }, 120_000);

  test("a POST that boots a Stopped guest (wake_stopped) waits until its server listens, then runs once", async () => {
    const rule = { match: { hostname: "cold.ingress.test", port: INGRESS_PORT }, target: { instance: "retry", port: HTTP_PORT }, wake_stopped: true };
    expect((await svc.call("POST", "/ingresses", { name: "cold", rules: [rule] })).status).toBe(201);
    expect((await svc.call("POST", "/instances/retry/stop", {})).status).toBe(200);
    const answer = viaIngress(INGRESS_PORT, "cold.ingress.test", "/cgi-bin/count?id=cold", { method: "POST", body: "cold" }).then(async (r) => `${r.status} ${await r.text()}`);
    // Nothing starts the site at boot: it listens only once the test has started it in the booted guest.
    await waitForState(svc, "retry", "Running");
    await startSite(svc, "retry");
    expect(await answer).toBe("200 cold");
    expect((await countedRequests(svc, "retry")).get("POST id=cold")).toBe(1);
  }, 120_000);
});
