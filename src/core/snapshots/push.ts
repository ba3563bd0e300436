// Pushing a snapshot to a remote: every chunk of its payload the remote does not hold yet is uploaded under its
// hash, then the manifest, last, so the snapshot appears on the remote only whole. Chunks already there (from an
// earlier push of this or another snapshot of the same guest, or from a push cut short) are not sent again, which
// is also what makes a push resumable: running it again sends only what is missing.
import { join } from "node:path";
import { readChunks } from "../../store/payload/chunk-hash.ts";
import type { Manifest } from "../../store/payload/manifest.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import type { RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { snapshotManifest } from "./manifest-for-transfer.ts";
import { snapshotRow } from "./view.ts";
import type { TransferReporter } from "./transfer-progress.ts";

/** Chunk uploads in flight at once. */
const UPLOAD_WIDTH = 4;

export async function pushSnapshot(ctx: CoreContext, snapshotId: string, remote: RemoteStore, report: TransferReporter, signal: AbortSignal): Promise<void> {
  snapshotRow(ctx, snapshotId);
  const dir = ctx.paths.snapshot(snapshotId);
  // 1. What the snapshot is made of (payload files are immutable: forks hard-link them, compression writes new files).
  const manifest = await snapshotManifest(ctx, snapshotId, signal);
  report.start(totals(manifest));
  // 2. What the remote already holds: one listing, not a HEAD per chunk. A chunk of the wrong size there (a
  //    server that kept a cut-off upload) counts as missing and is sent again.
  const present = new Set<string>();
  const sizes = await remote.chunkSizes();
  for (const file of manifest.files) {
    file.chunks.forEach((sha, index) => {
      if (sizes.get(sha) === Math.min(manifest.chunk_bytes, file.size - index * manifest.chunk_bytes)) present.add(sha);
    });
  }
  // 3. Every missing chunk, read and checked against the manifest as it goes up.
  const pipeline = new BoundedPipeline<number>(UPLOAD_WIDTH);
  for (const file of manifest.files) {
    const missing = new Set(file.chunks.filter((sha) => !present.has(sha)));
    if (missing.size === 0) {
      report.chunks(file.chunks.length, file.size, 0);
      continue;
    }
    for await (const chunk of readChunks(join(dir, file.path), { chunkBytes: manifest.chunk_bytes, signal })) {
      if (chunk.sha256 !== file.chunks[chunk.index]) {
        throw new Error(`${file.path} changed since its manifest was written: chunk ${chunk.index} hashes to ${chunk.sha256}`);
      }
      if (!missing.has(chunk.sha256)) {
        report.chunks(1, chunk.bytes.length, 0);
        continue;
      }
      missing.delete(chunk.sha256); // the same chunk twice in one push goes up once
      present.add(chunk.sha256);
      const sent = await pipeline.push(async () => {
        await remote.putChunk(chunk.sha256, chunk.bytes);
        return chunk.bytes.length;
      });
      for (const bytes of sent) report.chunks(1, bytes, bytes);
    }
  }
  for (const bytes of await pipeline.drain()) report.chunks(1, bytes, bytes);
  // 4. The manifest, last: from now on the snapshot is visible on the remote.
  signal.throwIfAborted();
  await remote.putManifest(snapshotId, manifest);
}

export function totals(manifest: Manifest): { bytes: number; chunks: number } {
  return {
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    chunks: manifest.files.reduce((sum, f) => sum + f.chunks.length, 0),
  };
}
