// Pulling a snapshot from a remote: its manifest first (no manifest, no snapshot; one this host cannot restore is
// refused with the compatibility check's reasons before a chunk is fetched), then every file rebuilt from its
// chunks in a staging dir, each chunk checked against the manifest before it is written, the records' host paths
// rebased as import does; the dir is renamed into place and indexed only when all of it checked out. A damaged
// chunk or a cut connection leaves nothing visible: the staging dir goes. A stop or a crash leaves the job's
// staging dir (pulls/<job>/, kept across restarts): its rerun reads back every chunk there that checks out.
import { randomUUID } from "node:crypto";
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { commitDir, discardTree, removeTree } from "../../fs/atomic.ts";
import { CHUNK_BYTES } from "../../store/payload/chunk-hash.ts";
import { parseManifest, type Manifest } from "../../store/payload/manifest.ts";
import { assembleFile } from "../../store/remote/assemble-file.ts";
import type { RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { ensureFreeSpace } from "../service/disk-space.ts";
import { indexSnapshot } from "../service/payload-reindex.ts";
import { conflict, invalidState, notFound } from "../errors.ts";
import { assertCompatible } from "./compatibility.ts";
import { chunksIn, localChunks } from "./local-chunks.ts";
import { fromRemote } from "./remotes.ts";
import { rebaseRecords } from "./import.ts";
import { totals } from "./push.ts";
import type { TransferReporter } from "./transfer-progress.ts";

/**
 * The snapshot's manifest as the remote holds it: refused when it names another id, or when this host cannot
 * restore it (a newer format included: 409 with the compatibility check's typed reasons).
 */
export async function remoteManifest(ctx: CoreContext, remote: RemoteStore, snapshotId: string): Promise<Manifest> {
  const json = await fromRemote(remote.getManifest(snapshotId));
  if (json === undefined) throw notFound(`the remote has no snapshot ${snapshotId}`);
  const parsed = parseManifest(json);
  await assertCompatible(ctx, parsed, `snapshot ${snapshotId} cannot be restored on this host`);
  const { manifest } = parsed as Extract<typeof parsed, { kind: "current" }>;
  if (manifest.snapshot.id !== snapshotId) throw invalidState(`the remote's manifest for ${snapshotId} names snapshot ${manifest.snapshot.id}`);
  // Remote chunks are always pushed at this size; another would be a manifest not written by a push.
  if (manifest.chunk_bytes !== CHUNK_BYTES) throw invalidState(`the remote's manifest for ${snapshotId} has ${manifest.chunk_bytes}-byte chunks, pushes use ${CHUNK_BYTES}`);
  return manifest;
}

/** Refuses a pull onto a server that has the snapshot already. */
export function assertSnapshotAbsent(ctx: CoreContext, snapshotId: string): void {
  if (ctx.snapshots.get(snapshotId)) throw conflict(`snapshot ${snapshotId} already exists here`);
}

export async function pullSnapshot(ctx: CoreContext, jobId: string, snapshotId: string, remote: RemoteStore, report: TransferReporter, signal: AbortSignal): Promise<void> {
  // 0. The request checked the snapshot was absent: here now, it is this job's own commit from before a restart
  //    (start-up indexed the dir the row had not yet followed).
  if (ctx.snapshots.get(snapshotId)) return;
  // 1. The manifest: a snapshot is on the remote only once its manifest is.
  const manifest = await remoteManifest(ctx, remote, snapshotId);
  const total = totals(manifest);
  await ensureFreeSpace(ctx, total.bytes, `pull of snapshot ${snapshotId}`);
  report.start(total);
  // The job's own staging dir: what a run cut short (a restart) wrote there is set aside and read back below.
  const staging = ctx.paths.pullStaging(jobId);
  const leftovers = await setAside(staging, ctx.paths.tmpDir);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    // 2. Every file from its chunks, verified chunk by chunk and as a whole; a chunk the cut-short run wrote, or a
    //    local snapshot holds, is read from there (checked against its hash), only the others are fetched.
    const sources = [...(leftovers ? [chunksIn(leftovers, manifest)] : []), await localChunks(ctx)];
    let fetched = 0;
    const fetchChunk = async (sha256: string, length: number) => {
      for (const source of sources) {
        const here = await source(sha256, length);
        if (here) return here;
      }
      const bytes = await remote.getChunk(sha256, length);
      fetched += bytes.length;
      return bytes;
    };
    for (const file of manifest.files) {
      await assembleFile(join(staging, file.path), file, {
        chunkBytes: manifest.chunk_bytes,
        fetchChunk,
        onChunk: (bytes) => {
          report.chunks(1, bytes, fetched);
          fetched = 0;
        },
        signal,
      });
    }
    await rebaseRecords(ctx, staging, manifest); // also writes the manifest, as it describes the files here
    // 3. Into place and into the index, under the snapshot's lock.
    await ctx.locks.run(`snapshot:${snapshotId}`, async () => {
      assertSnapshotAbsent(ctx, snapshotId);
      const dir = ctx.paths.snapshot(snapshotId);
      await commitDir(staging, dir);
      try {
        await indexSnapshot(ctx, snapshotId);
      } catch (err) {
        await discardTree(dir, ctx.paths.tmpDir);
        throw err;
      }
    });
  } catch (err) {
    // A stop keeps what was pulled so far for the run at the next start; a failure leaves nothing.
    if (!signal.aborted) await removeTree(staging);
    throw err;
  } finally {
    if (leftovers) await removeTree(leftovers);
  }
}

/** Moves a cut-short run's staging dir into tmp/ (start-up clears it should this run be cut short too); undefined without one. */
async function setAside(staging: string, tmpRoot: string): Promise<string | undefined> {
  const aside = join(tmpRoot, `pull-leftovers-${randomUUID()}`);
  try {
    await rename(staging, aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
