// `snapvisor serve`: the standalone server on a Unix socket (default) or TCP (bearer token required).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { writeFileAtomic } from "../fs/atomic.ts";
import { DataPaths } from "../store/paths.ts";
import { checkedToken } from "./auth.ts";
import { loadConfig } from "./config.ts";
import { snapvisorFromConfig, type SnapvisorOptions } from "./create-snapvisor.ts";
import { bindPrivately, claimSocketPath } from "./unix-listener.ts";

export interface Listener {
  /** `unix:<path>` or `http://host:port`. */
  address: string;
  stop(): Promise<void>;
}

/** Auth follows the listener (a token on TCP, the socket's file mode on Unix), so it is not an option here. */
export type ServeOptions = Omit<SnapvisorOptions, "auth">;

/** Parses `unix:/path`, `/path.sock`, `host:port`, `:port`. */
export function parseListen(listen: string): { unix: string } | { hostname: string; port: number } {
  if (listen.startsWith("unix:")) return { unix: listen.slice(5) };
  if (listen.startsWith("/") || listen.startsWith(".")) return { unix: listen };
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:]*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen must be unix:<path> or <host>:<port>, got ${JSON.stringify(listen)}`);
  return { hostname: m[1] || "127.0.0.1", port: Number(m[2]) };
}

/** The TCP token: configured, else the data dir's token file, else a new one written there (0600). */
async function tcpToken(paths: DataPaths, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return checkedToken(configured, "set authToken in the config or SNAPVISOR_TOKEN");
  if (existsSync(paths.authToken)) {
    const howToSet = `write a token into ${paths.authToken}, set SNAPVISOR_TOKEN, or delete the file to have one generated`;
    return checkedToken(readFileSync(paths.authToken, "utf8").trim(), howToSet);
  }
  const token = randomBytes(24).toString("base64url");
  await writeFileAtomic(paths.authToken, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function serve(options: ServeOptions = {}): Promise<Listener> {
  const { drivers, hostResources, logger, clock, newId, ...configInput } = options;
  const config = loadConfig(configInput);
  const paths = new DataPaths(config.dataDir);
  const listen = parseListen(config.listen ?? `unix:${paths.socket}`);
  // Checked before the service starts: a live socket may be another server on this same data dir.
  if ("unix" in listen) await claimSocketPath(listen.unix);
  const token = "unix" in listen ? undefined : await tcpToken(paths, config.authToken);
  const sv = snapvisorFromConfig(config, { auth: token === undefined ? false : { token }, drivers, hostResources, logger, clock, newId });
  await sv.start();
  let server: ReturnType<typeof Bun.serve>;
  try {
    // idleTimeout 0: a restore or boot can take longer than Bun's default 10 s before the response starts.
    server =
      "unix" in listen
        ? bindPrivately(() => Bun.serve({ unix: listen.unix, fetch: sv.app.fetch, ...({ idleTimeout: 0 } as object) }))
        : Bun.serve({ hostname: listen.hostname, port: listen.port, fetch: sv.app.fetch, idleTimeout: 0 });
  } catch (err) {
    await sv.stop(); // nothing may keep running behind a listener that never opened
    throw err;
  }
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
