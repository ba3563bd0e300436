// Chunks this host already holds, for a pull: the payload files of the newest local snapshots, by the chunk
// hashes their manifests list. Pulling the next snapshot of a guest reads what it shares with the last one from
// disk instead of the network. Every chunk read is checked against its hash: one changed or gone since its
// manifest was written is not used (the remote's copy is fetched instead). The same reader serves a pull run again
// after a restart: what its first run wrote is read back and checked, not downloaded again.
import { join } from "node:path";
import { sha256Hex } from "../../store/payload/chunk-hash.ts";
import { readManifest, type Manifest } from "../../store/payload/manifest.ts";
import type { CoreContext } from "../service/context.ts";

/** How many of the newest local snapshots are looked at (a manifest is read for each). */
const MAX_SOURCE_SNAPSHOTS = 8;

/** A chunk's bytes read from a local snapshot file, or undefined when no local file holds it intact. */
export type LocalChunkSource = (sha256: string, length: number) => Promise<Uint8Array | undefined>;

export async function localChunks(ctx: CoreContext): Promise<LocalChunkSource> {
  const where: ChunkPlaces = new Map();
  const newest = ctx.snapshots
    .all()
    .filter((row) => row.rowState === "ready")
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, MAX_SOURCE_SNAPSHOTS);
  for (const row of newest) {
    const dir = ctx.paths.snapshot(row.id);
    const stored = await readManifest(dir).catch(() => undefined);
    if (stored?.kind === "current") addPlaces(where, dir, stored.manifest);
  }
  return reader(where);
}

/** The chunks of `manifest` as files under `dir` may hold them (a pull's files from before a restart). */
export function chunksIn(dir: string, manifest: Manifest): LocalChunkSource {
  const where: ChunkPlaces = new Map();
  addPlaces(where, dir, manifest);
  return reader(where);
}

/** Where a chunk lies in a local file; the first place found, for a chunk named twice. */
type ChunkPlaces = Map<string, { path: string; offset: number }>;

function addPlaces(where: ChunkPlaces, dir: string, { chunk_bytes, files }: Manifest): void {
  for (const file of files) {
    file.chunks.forEach((sha256, index) => {
      if (!where.has(sha256)) where.set(sha256, { path: join(dir, file.path), offset: index * chunk_bytes });
    });
  }
}

function reader(where: ChunkPlaces): LocalChunkSource {
  return async (sha256, length) => {
    const at = where.get(sha256);
    if (!at) return undefined;
    const bytes = await Bun.file(at.path)
      .slice(at.offset, at.offset + length)
      .bytes()
      .catch(() => undefined);
    return bytes && bytes.length === length && sha256Hex(bytes) === sha256 ? bytes : undefined;
  };
}
