// What the ingress tests share: a free loopback port for the listener, the guest's site (busybox httpd with an env,
// an echo and a counting CGI, and a tiny WebSocket server on nc that greets and then holds the connection), and a
// request through the ingress bounded in time.
import { expect } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootGuest, exec } from "./guest.ts";

export const HTTP_PORT = 8080;
export const WS_PORT = 8081;
const REQUEST_TIMEOUT_MS = 60_000;

export function freeLoopbackPort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

// The handshake's accept key is computed with sha1sum and base64 (the hex digest made binary through octal
// printf escapes, all POSIX); then one text frame "hello" is sent and the connection held until the client ends.
const WS_SCRIPT = String.raw`#!/bin/sh
key=""
while read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  case "$line" in [Ss]ec-[Ww]eb[Ss]ocket-[Kk]ey:*) key=$(echo "$line" | cut -d: -f2 | tr -d ' ') ;; esac
done
hex=$(printf '%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11' "$key" | sha1sum | cut -d' ' -f1)
accept=$(for h in $(echo "$hex" | sed 's/../& /g'); do printf "\\$(printf %03o 0x$h)"; done | base64)
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n' "$accept"
printf '\201\005hello'
cat >/dev/null
`;

/** Each request it runs is logged as "<method> <query>" in REQUESTS_LOG (so a test sees how often the guest ran
 * it), it waits `X-Sleep` seconds when asked, then echoes the body. */
const COUNT_SCRIPT = String.raw`#!/bin/sh
echo "$REQUEST_METHOD $QUERY_STRING" >>/tmp/requests.log
[ -z "$HTTP_X_SLEEP" ] || sleep "$HTTP_X_SLEEP"
echo Content-Type: application/octet-stream
echo
head -c "${"$"}{CONTENT_LENGTH:-0}"
`;
export const REQUESTS_LOG = "/tmp/requests.log";

/** How many times the guest ran /cgi-bin/count for each "<method> <query>". */
export async function countedRequests(svc: TestService, name: string): Promise<Map<string, number>> {
  const log = await exec(svc, name, `cat ${REQUESTS_LOG} 2>/dev/null || true`);
  const counts = new Map<string, number>();
  for (const line of log.stdout.split("\n").filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

const SITE = [
  "mkdir -p /www/cgi-bin",
  "echo hello >/www/index.html",
  `printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nenv\\n' >/www/cgi-bin/env`,
  `printf '#!/bin/sh\\necho Content-Type: application/octet-stream\\necho\\nhead -c "$CONTENT_LENGTH"\\n' >/www/cgi-bin/echo`,
  `echo ${Buffer.from(COUNT_SCRIPT).toString("base64")} | base64 -d >/www/cgi-bin/count`,
  "chmod +x /www/cgi-bin/env /www/cgi-bin/echo /www/cgi-bin/count",
  `(pidof httpd >/dev/null || httpd -p ${HTTP_PORT} -h /www)`,
].join(" && ");

/** Boots `name` with forwards for both ports and starts its servers. */
export async function bootSite(svc: TestService, name: string, extra: Record<string, unknown> = {}): Promise<{ id: string }> {
  const guest = await bootGuest(svc, name, { network: { port_forwards: [{ guest_port: HTTP_PORT }, { guest_port: WS_PORT }] }, ...extra });
  await startSite(svc, name);
  return guest;
}

/** Writes the site into a running guest and starts its servers (again after a cold boot: nothing starts them). */
export async function startSite(svc: TestService, name: string): Promise<void> {
  expect((await exec(svc, name, SITE)).exit_code).toBe(0);
  const script = Buffer.from(WS_SCRIPT).toString("base64");
  const ws = `echo ${script} | base64 -d >/www/ws.sh && chmod +x /www/ws.sh && (nc -ll -p ${WS_PORT} -e /www/ws.sh >/dev/null 2>&1 &)`;
  expect((await exec(svc, name, ws)).exit_code).toBe(0);
}

/** An ingress with one rule per port for `hostname`, on the listener port. */
export async function addIngress(svc: TestService, name: string, listenPort: number, hostname: string, extra: Record<string, unknown> = {}): Promise<void> {
  const rules = [
    { match: { hostname, port: listenPort }, target: { instance: name, port: HTTP_PORT }, ...extra },
    { match: { hostname, port: listenPort, path_prefix: "/ws" }, target: { instance: name, port: WS_PORT }, ...extra },
  ];
  const res = await svc.call("POST", "/ingresses", { name, rules });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** One request through the ingress listener on loopback. */
export function viaIngress(listenPort: number, host: string, path = "/", init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("host", host);
  return fetch(`http://127.0.0.1:${listenPort}${path}`, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

export const instanceState = async (svc: TestService, ref: string): Promise<string> => (await svc.call("GET", `/instances/${ref}`)).body.state;

/** Polls until `ref` is in `state` (bounded: `tries` × 100 ms). */
export async function waitForState(svc: TestService, ref: string, state: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if ((await instanceState(svc, ref)) === state) return;
    await Bun.sleep(100);
  }
  throw new Error(`${ref} did not reach ${state} after ${tries} polls (now ${await instanceState(svc, ref)})`);
}
