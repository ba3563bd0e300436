// Pushing a snapshot to a remote: every chunk of its payload the remote does not hold yet is uploaded under its
// hash, then the manifest, last, so the snapshot appears on the remote only whole. Chunks already there (from an
// earlier push of this or another snapshot of the same guest, or from a push cut short) are not sent again, which
// is also what makes a push resumable: running it again sends only what is missing. An intent (the manifest under
// pending/) is written first and removed last, so a garbage collection on another host spares what it names.
import { join } from "node:path";
import { sha256Hex } from "../../store/payload/chunk-hash.ts";
import type { Manifest } from "../../store/payload/manifest.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import type { RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { snapshotRow } from "./view.ts";
import type { TransferReporter } from "./transfer-progress.ts";

/** Chunk uploads in flight at once. */
const UPLOAD_WIDTH = 4;

export async function pushSnapshot(ctx: CoreContext, snapshotId: string, remote: RemoteStore, report: TransferReporter, signal: AbortSignal): Promise<void> {
  snapshotRow(ctx, snapshotId);
  const dir = ctx.paths.snapshot(snapshotId);
  // 1. What the snapshot is made of (payload files are immutable: forks hard-link them, compression writes new files).
  const manifest = await ctx.manifests.ensure(snapshotId);
  report.start(totals(manifest));
  // 2. The intent, before looking at what the remote holds: a garbage collection running meanwhile keeps every
  //    chunk it names, so a chunk found present below is not deleted before the manifest names it (remote-gc.ts).
  await remote.putIntent(snapshotId, manifest);
  try {
    await sendChunksThenManifest(snapshotId, dir, manifest, remote, report, signal);
  } catch (err) {
    // A failed push names nothing any more; a stopped one keeps its intent for its run at the next start.
    if (!signal.aborted) await dropIntent(ctx, remote, snapshotId);
    throw err;
  }
  await dropIntent(ctx, remote, snapshotId);
}

/** An intent left behind (keys without DeleteObject) only keeps its chunks from garbage collection: not a failure. */
async function dropIntent(ctx: CoreContext, remote: RemoteStore, snapshotId: string): Promise<void> {
  await remote.deleteIntent(snapshotId).catch((err) => ctx.logger.warn("push intent not removed", { snapshot: snapshotId, error: String(err) }));
}

async function sendChunksThenManifest(snapshotId: string, dir: string, manifest: Manifest, remote: RemoteStore, report: TransferReporter, signal: AbortSignal): Promise<void> {
  // 3. What the remote already holds: one listing, not a HEAD per chunk. A chunk of the wrong size there (a
  //    server that kept a cut-off upload) counts as missing and is sent again.
  const present = new Set<string>();
  const sizes = await remote.chunkSizes();
  for (const file of manifest.files) {
    file.chunks.forEach((sha256, index) => {
      if (sizes.get(sha256) === Math.min(manifest.chunk_bytes, file.size - index * manifest.chunk_bytes)) present.add(sha256);
    });
  }
  // 4. Every missing chunk, read at its offset (what the remote holds is never read: a sparse disk's zero chunks
  //    cost one upload, ever) and checked against the manifest as it goes up.
  const pipeline = new BoundedPipeline<number>(UPLOAD_WIDTH);
  for (const file of manifest.files) {
    const path = join(dir, file.path);
    for (const [index, sha256] of file.chunks.entries()) {
      signal.throwIfAborted();
      const offset = index * manifest.chunk_bytes;
      const length = Math.min(manifest.chunk_bytes, file.size - offset);
      if (present.has(sha256)) {
        report.chunks(1, length, 0);
        continue;
      }
      present.add(sha256); // the same chunk twice in one push goes up once
      const sent = await pipeline.push(async () => {
        const bytes = await Bun.file(path).slice(offset, offset + length).bytes();
        if (bytes.length !== length || sha256Hex(bytes) !== sha256) {
          throw new Error(`${file.path} changed since its manifest was written: chunk ${index} no longer hashes to ${sha256}`);
        }
        await remote.putChunk(sha256, bytes);
        return length;
      });
      for (const bytes of sent) report.chunks(1, bytes, bytes);
    }
  }
  for (const bytes of await pipeline.drain()) report.chunks(1, bytes, bytes);
  // 5. The manifest, last: from now on the snapshot is visible on the remote (and the intent has done its job).
  signal.throwIfAborted();
  await remote.putManifest(snapshotId, manifest);
}

export function totals(manifest: Manifest): { bytes: number; chunks: number } {
  return {
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    chunks: manifest.files.reduce((sum, f) => sum + f.chunks.length, 0),
  };
}
