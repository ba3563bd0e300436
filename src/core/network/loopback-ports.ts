// Host ports for user-mode forwards: the kernel picks a free one on 127.0.0.1; ports other instances hold (leased
// but maybe not bound right now, as in standby) are skipped.
import { insufficientResources } from "../errors.ts";

const PORT_ATTEMPTS = 32;

export async function freeLoopbackPort(used: Set<number>): Promise<number> {
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    if (!used.has(port)) return port;
  }
  throw insufficientResources(`no free loopback port for a forward after ${PORT_ATTEMPTS} tries`);
}
