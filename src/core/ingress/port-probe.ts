// "The guest port accepts a connection": a TCP connect, retried with a bounded backoff until a deadline.
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

/** True once `to` accepts a connection; false when `deadline` (epoch ms) passed first. */
export async function waitForPort(to: Upstream, deadline: number): Promise<boolean> {
  for (let backoff = FIRST_BACKOFF_MS; Date.now() < deadline; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    if (await connectOnce(to)) return true;
    await Bun.sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
  }
  return false;
}
