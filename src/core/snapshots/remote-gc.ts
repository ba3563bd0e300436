// Deleting a snapshot from a remote: its manifest goes, then the chunks no remaining manifest names, by mark and
// sweep with no lock on the bucket, safe against pushes running on this or another host:
//   - candidates are chunks older than the remote's grace period (S3 LastModified): a chunk a push just uploaded
//     is never one, whatever names it yet;
//   - every manifest, and every push's intent (push.ts writes it before looking at which chunks exist, removes it
//     after its manifest or when it fails), marks the chunks it names;
//   - intents are listed again before each batch of deletes: a push that started meanwhile marks its chunks too.
// What is left is a push whose intent PUT and chunk listing both fall inside one batch of deletes (a few requests):
// it may skip a chunk that goes right after. A manifest this server cannot read the chunk names of (a newer
// format, damaged) stops the sweep before anything is deleted.
import { z } from "zod";
import { isSafeId } from "../../store/paths.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import { RemoteContentError, type RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { notFound } from "../errors.ts";
import { fromRemote, remoteAt } from "./remotes.ts";

/** Deletes between two listings of the intents. */
const DELETE_BATCH = 16;
/** Deletes in flight at once. */
const DELETE_WIDTH = 4;
const DELETE_ATTEMPTS = 3;

export interface GcReport {
  chunksDeleted: number;
  bytesDeleted: number;
  /** Chunks past the grace period that a manifest or a push under way names. */
  chunksInUse: number;
  /** Chunks within the grace period: kept whether or not anything names them yet. */
  chunksWithinGrace: number;
  /** Why nothing was deleted (a manifest whose chunks cannot be read), null when the sweep ran. */
  skipped: string | null;
}

export async function deleteRemoteSnapshot(ctx: CoreContext, remoteName: string, snapshotId: string): Promise<GcReport> {
  const remote = remoteAt(ctx, remoteName);
  const missing = () => notFound(`remote ${remoteName} has no snapshot ${snapshotId}`);
  if (!isSafeId(snapshotId)) throw missing();
  if (!(await fromRemote(remote.hasManifest(snapshotId)))) throw missing();
  await fromRemote(remote.deleteManifest(snapshotId));
  const report = await fromRemote(collectGarbage(remote, ctx.clock()));
  ctx.logger.info("remote snapshot deleted", { remote: remoteName, snapshot: snapshotId, ...report });
  return report;
}

/** The part of any manifest format garbage collection needs: which chunks its files name. */
const ChunkNames = z.object({ files: z.array(z.object({ chunks: z.array(z.string()) })) });

export async function collectGarbage(remote: RemoteStore, now: Date): Promise<GcReport> {
  const cutoff = now.getTime() - remote.gcGraceSeconds * 1000;
  // 1. Candidates, listed first: a chunk uploaded after this listing is never one.
  const candidates = new Map<string, number>();
  let chunksWithinGrace = 0;
  for await (const chunk of remote.chunks()) {
    if (chunk.lastModified.getTime() <= cutoff) candidates.set(chunk.name, chunk.size);
    else chunksWithinGrace++;
  }
  let chunksInUse = 0;
  const mark = (json: unknown): boolean => {
    const named = ChunkNames.safeParse(json);
    if (!named.success) return false;
    for (const file of named.data.files) {
      for (const chunk of file.chunks) if (candidates.delete(chunk)) chunksInUse++;
    }
    return true;
  };
  const skip = (why: string): GcReport => ({ chunksDeleted: 0, bytesDeleted: 0, chunksInUse, chunksWithinGrace, skipped: why });
  // 2. Marks: pushes under way, however long they take (a push that fails removes its intent; one cut short runs
  //    again at its host's start), then every manifest.
  const seenIntents = new Set<string>();
  const markIntents = async (): Promise<string | undefined> => {
    for (const intent of await remote.intents()) {
      const key = `${intent.id}@${intent.lastModified.getTime()}`;
      if (seenIntents.has(key)) continue;
      seenIntents.add(key);
      const json = await remote.getIntent(intent.id);
      if (json !== undefined && !mark(json)) return `the intent of a push of ${intent.id} names no chunks this server can read`;
    }
    return undefined;
  };
  const unreadIntent = await markIntents();
  if (unreadIntent) return skip(unreadIntent);
  for await (const id of remote.snapshotIds()) {
    const json = await remote.getManifest(id).catch((err) => (err instanceof RemoteContentError ? null : Promise.reject(err)));
    if (json !== undefined && !mark(json)) return skip(`the manifest of ${id} names no chunks this server can read`);
  }
  // 3. Sweep, in batches, each after another look at the intents.
  let chunksDeleted = 0;
  let bytesDeleted = 0;
  const doomed = [...candidates];
  for (let start = 0; start < doomed.length; start += DELETE_BATCH) {
    const late = await markIntents();
    if (late) return { ...skip(late), chunksDeleted, bytesDeleted };
    const pipeline = new BoundedPipeline<void>(DELETE_WIDTH);
    for (const [sha256, size] of doomed.slice(start, start + DELETE_BATCH)) {
      if (!candidates.has(sha256)) continue; // marked by a late intent
      await pipeline.push(() => deleteWithRetry(remote, sha256));
      chunksDeleted++;
      bytesDeleted += size;
    }
    await pipeline.drain();
  }
  return { chunksDeleted, bytesDeleted, chunksInUse, chunksWithinGrace, skipped: null };
}

/** A DELETE the server failed (an internal error) is tried again a few times: deleting is idempotent. */
async function deleteWithRetry(remote: RemoteStore, sha256: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await remote.deleteChunk(sha256);
    } catch (err) {
      if (attempt >= DELETE_ATTEMPTS) throw err;
    }
  }
}
