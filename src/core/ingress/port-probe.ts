// "The guest port accepts a connection": a TCP connect, retried with a bounded backoff until a deadline. In user
// mode that proves only that QEMU's forward accepts (slirp answers the host side itself, before the guest does),
// so a guest that has just booted is also asked, through its agent, whether something listens on the port.
import type { CoreContext } from "../service/context.ts";
import { execInInstance } from "../instances/exec.ts";
import type { Upstream } from "./upstream.ts";

const FIRST_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 200;
const CONNECT_TIMEOUT_MS = 2_000;

function connectOnce(to: Upstream): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    Bun.connect({
      hostname: to.host,
      port: to.port,
      socket: {
        open: (s) => {
          s.end();
          done(true);
        },
        data() {},
        connectError: () => done(false),
        error: () => done(false),
      },
    }).catch(() => done(false));
  });
}

/** Until `check` holds, with a bounded backoff; false when `deadline` (epoch ms) passed first. */
async function retryUntil(check: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (let backoff = FIRST_BACKOFF_MS; Date.now() < deadline; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    if (await check()) return true;
    await Bun.sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
  }
  return false;
}

/** True once `to` accepts a connection; false when `deadline` (epoch ms) passed first. */
export const waitForPort = (to: Upstream, deadline: number): Promise<boolean> => retryUntil(() => connectOnce(to), deadline);

/** Whether /proc/net/tcp (or tcp6) text holds a socket listening on `port` (state 0A), on any address. */
export function listensOn(procNetTcp: string, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return procNetTcp.split("\n").some((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    return state === "0A" && local?.endsWith(`:${hex}`) === true;
  });
}

/** True once the guest's kernel lists a listener on `port` (asked through its agent); false past `deadline`. */
export function waitForGuestListener(ctx: CoreContext, instanceId: string, port: number, deadline: number): Promise<boolean> {
  const read = ["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"];
  const listed = () => execInInstance(ctx, instanceId, read, CONNECT_TIMEOUT_MS).then((r) => listensOn(r.stdout, port), () => false);
  return retryUntil(listed, deadline);
}
