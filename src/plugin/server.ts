// `snapvisor serve`: the standalone server on a Unix socket (default) or TCP (bearer token required).
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { writeFileAtomic } from "../fs/atomic.ts";
import { DataPaths } from "../store/paths.ts";
import { loadConfig } from "./config.ts";
import { snapvisorFromConfig, type SnapvisorOptions } from "./create-snapvisor.ts";

export interface Listener {
  /** `unix:<path>` or `http://host:port`. */
  address: string;
  stop(): Promise<void>;
}

/** Parses `unix:/path`, `/path.sock`, `host:port`, `:port`. */
export function parseListen(listen: string): { unix: string } | { hostname: string; port: number } {
  if (listen.startsWith("unix:")) return { unix: listen.slice(5) };
  if (listen.startsWith("/") || listen.startsWith(".")) return { unix: listen };
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:]*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen must be unix:<path> or <host>:<port>, got ${JSON.stringify(listen)}`);
  return { hostname: m[1] || "127.0.0.1", port: Number(m[2]) };
}

async function tcpToken(paths: DataPaths, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  if (existsSync(paths.authToken)) return readFileSync(paths.authToken, "utf8").trim();
  const token = randomBytes(24).toString("base64url");
  await writeFileAtomic(paths.authToken, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function serve(options: SnapvisorOptions = {}): Promise<Listener> {
  const { auth: _auth, drivers, logger, clock, newId, ...configInput } = options;
  const config = loadConfig(configInput);
  const paths = new DataPaths(config.dataDir);
  const listen = parseListen(config.listen ?? `unix:${paths.socket}`);
  const token = "unix" in listen ? undefined : await tcpToken(paths, config.authToken);
  const sv = snapvisorFromConfig(config, { auth: token ? { token } : false, drivers, logger, clock, newId });
  await sv.start();
  if ("unix" in listen) rmSync(listen.unix, { force: true }); // a socket left by a killed server
  // idleTimeout 0: a restore or boot can take longer than Bun's default 10 s before the response starts.
  const server =
    "unix" in listen
      ? Bun.serve({ unix: listen.unix, fetch: sv.app.fetch, ...({ idleTimeout: 0 } as object) })
      : Bun.serve({ hostname: listen.hostname, port: listen.port, fetch: sv.app.fetch, idleTimeout: 0 });
  if ("unix" in listen) chmodSync(listen.unix, 0o600);
  const address = "unix" in listen ? `unix:${listen.unix}` : `http://${server.hostname}:${server.port}`;
  return {
    address,
    async stop() {
      await server.stop();
      await sv.stop();
      if ("unix" in listen) rmSync(listen.unix, { force: true });
    },
  };
}
