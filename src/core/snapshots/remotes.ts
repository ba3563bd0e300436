// The configured object-storage remotes: looked up by name for a transfer, listed without their secrets.
import { RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidRequest } from "../errors.ts";

/** What GET /remotes shows of a remote: never its credentials. */
export interface RemoteSummary {
  name: string;
  endpoint: string;
  bucket: string;
  prefix: string;
  region: string;
}

export function listRemotes(ctx: CoreContext): RemoteSummary[] {
  return Object.entries(ctx.config.remotes)
    .map(([name, { endpoint, bucket, prefix, region }]) => ({ name, endpoint, bucket, prefix, region }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The store of a configured remote; an unknown name is the caller's mistake, named as the `remote` field. */
export function remoteStore(ctx: CoreContext, name: string): RemoteStore {
  const target = Object.hasOwn(ctx.config.remotes, name) ? ctx.config.remotes[name] : undefined;
  if (!target) {
    const known = Object.keys(ctx.config.remotes).sort();
    throw invalidRequest(`remote: no remote named ${JSON.stringify(name)} is configured${known.length ? ` (configured: ${known.join(", ")})` : ""}`);
  }
  return new RemoteStore(target);
}
