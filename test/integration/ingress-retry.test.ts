// What the ingress sends again and what it never does (user mode, real guest): an idempotent request whose answer
// does not start within the header timeout is sent again; a POST is not (a 504), so the guest runs it once. POSTs
// held through a wake each run once too. The guest's counting CGI logs every request it runs.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { withGuestService } from "./guest.ts";
import { addIngress, bootSite, countedRequests, freeLoopbackPort, viaIngress, waitForState } from "./ingress-guest.ts";

const HOST = "retry.ingress.test";
const INGRESS_PORT = freeLoopbackPort();
const HEADER_TIMEOUT_MS = 3_000;
/** Longer than the header timeout: the CGI's answer starts only after it. */
const SLEEP_S = 5;
let svc: TestService;
withGuestService((s) => (svc = s), { ingress: { listen: [`127.0.0.1:${INGRESS_PORT}`], upstreamHeaderTimeoutMs: HEADER_TIMEOUT_MS } });

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
});
