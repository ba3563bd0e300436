// POST /snapshots/{id}/verify: every payload file hashed again, chunk by chunk, against the snapshot's manifest.
// Reports each file that is missing, of another size, or has chunks whose SHA-256 differs (by index), and files
// the manifest does not list. Runs under the snapshot's lock, so no fork or restore changes the files meanwhile.
import { join } from "node:path";
import { readChunks } from "../../store/payload/chunk-hash.ts";
import { payloadFiles, type ManifestFile } from "../../store/payload/manifest.ts";
import type { CoreContext } from "../service/context.ts";
import { snapshotRow } from "./view.ts";

export interface FileProblem {
  path: string;
  problem: "missing" | "size" | "chunks" | "unexpected";
  message: string;
  /** Indexes of chunks whose hash differs (problem "chunks", or "size" where the common part differs too). */
  chunks: number[];
}

export interface VerifyReport {
  snapshotId: string;
  ok: boolean;
  filesChecked: number;
  bytesChecked: number;
  problems: FileProblem[];
}

export async function verifySnapshot(ctx: CoreContext, snapshotId: string): Promise<VerifyReport> {
  snapshotRow(ctx, snapshotId);
  return ctx.locks.run(`snapshot:${snapshotId}`, async () => {
    snapshotRow(ctx, snapshotId); // not deleted while the lock was awaited
    const manifest = await ctx.manifests.ensure(snapshotId);
    const dir = ctx.paths.snapshot(snapshotId);
    const present = new Map((await payloadFiles(dir)).map((f) => [f.path, f.size]));
    const problems: FileProblem[] = [];
    let bytesChecked = 0;
    for (const file of manifest.files) {
      const size = present.get(file.path);
      present.delete(file.path);
      if (size === undefined) {
        problems.push({ path: file.path, problem: "missing", message: `${file.path} is missing`, chunks: [] });
        continue;
      }
      const differing = await differingChunks(join(dir, file.path), file, manifest.chunk_bytes);
      bytesChecked += size;
      if (size !== file.size) {
        problems.push({ path: file.path, problem: "size", message: `${file.path} has ${size} bytes, the manifest says ${file.size}`, chunks: differing });
      } else if (differing.length > 0) {
        problems.push({ path: file.path, problem: "chunks", message: `${file.path}: ${differing.length} of ${file.chunks.length} chunks differ`, chunks: differing });
      }
    }
    for (const path of present.keys()) problems.push({ path, problem: "unexpected", message: `${path} is not in the manifest`, chunks: [] });
    return { snapshotId, ok: problems.length === 0, filesChecked: manifest.files.length, bytesChecked, problems };
  });
}

/** Chunk indexes where the file and the manifest differ (a chunk only one of them has counts). */
async function differingChunks(path: string, file: ManifestFile, chunkBytes: number): Promise<number[]> {
  const differing: number[] = [];
  let count = 0;
  for await (const chunk of readChunks(path, { chunkBytes })) {
    if (file.chunks[chunk.index] !== chunk.sha256) differing.push(chunk.index);
    count++;
  }
  for (let i = count; i < file.chunks.length; i++) differing.push(i);
  return differing;
}
