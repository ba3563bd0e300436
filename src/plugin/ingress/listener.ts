// The ingress's own listeners (config `ingress.listen` and `ingress.tls.listen`): one Bun.serve per address,
// started and stopped with the service. Embedders can mount the same handler in their own Bun.serve instead.
import type { Server } from "bun";
import type { Config } from "../config.ts";
import type { SocketData } from "./websocket-bridge.ts";
import type { IngressHandler } from "./proxy.ts";

/** Bun's idle timeout is capped at 255 s; a request held for a wake must not be cut before its own timeout. */
const MAX_IDLE_TIMEOUT_S = 255;

function hostPort(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  return { hostname: address.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(i + 1)) };
}

export function startIngressListeners(config: Config["ingress"], handler: IngressHandler): Server<SocketData>[] {
  const idleTimeout = Math.min(MAX_IDLE_TIMEOUT_S, Math.ceil(config.waitTimeoutMs / 1000) + 10);
  const serve = (address: string, tls?: { cert: string; key: string }) =>
    Bun.serve<SocketData>({
      ...hostPort(address),
      idleTimeout,
      ...(tls ? { tls: { cert: Bun.file(tls.cert), key: Bun.file(tls.key) } } : {}),
      fetch: (req, server) => handler.fetch(req, server, tls !== undefined),
      websocket: handler.websocket,
    });
  const servers: Server<SocketData>[] = [];
  try {
    for (const address of config.listen) servers.push(serve(address));
    for (const address of config.tls?.listen ?? []) servers.push(serve(address, config.tls));
  } catch (err) {
    for (const s of servers) s.stop(true);
    throw err;
  }
  return servers;
}
