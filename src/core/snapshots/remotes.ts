// The configured object-storage remotes: looked up by name for a transfer, listed without their secrets.
import { RemoteStore, type RemoteTarget } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, invalidRequest, notFound } from "../errors.ts";

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
  return new RemoteStore(remoteTarget(ctx, name, invalidRequest));
}

/** The store of the remote a path names (`/remotes/{name}/…`): an unknown one is not found. */
export function remoteAt(ctx: CoreContext, name: string): RemoteStore {
  return new RemoteStore(remoteTarget(ctx, name, notFound));
}

function remoteTarget(ctx: CoreContext, name: string, refuse: (message: string) => Error): RemoteTarget {
  const target = Object.hasOwn(ctx.config.remotes, name) ? ctx.config.remotes[name] : undefined;
  if (target) return target;
  const known = Object.keys(ctx.config.remotes).sort();
  throw refuse(`remote: no remote named ${JSON.stringify(name)} is configured${known.length ? ` (configured: ${known.join(", ")})` : ""}`);
}

/** A request to a remote; its failure (down, refusing our keys, answering nonsense) is a 502 naming the remote's
 * answer: not this server's fault, and not the caller's. */
export async function fromRemote<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    throw new DomainError("bad_gateway", `remote: ${err instanceof Error ? err.message : String(err)}`, "remote_unavailable");
  }
}
