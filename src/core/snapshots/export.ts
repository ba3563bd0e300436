// GET /snapshots/{id}/export: the snapshot as one ustar stream, its manifest first, then every payload file in
// the manifest's order. With `zstd`, each file of at least one chunk travels as `<path>.zst/<index>` members,
// one zstd frame per 4 MiB chunk (`cat <path>.zst/* | zstd -d` rebuilds it), compressed as the stream is read;
// the importer checks each chunk as it arrives. Files are opened under the snapshot's lock, then read through
// those handles: a fork, compression or delete after that changes nothing the archive holds.
import { join } from "node:path";
import { open } from "node:fs/promises";
import { TAR_END, tarEntryBytes, tarHeader, tarPaddingBytes } from "../../store/archive/tar.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import { readHandleChunks, type FileHandle } from "../../store/payload/chunk-hash.ts";
import { manifestJson, type Manifest } from "../../store/payload/manifest.ts";
import { MANIFEST_RECORD } from "../../store/payload/layout.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidState } from "../errors.ts";
import { snapshotRow } from "./view.ts";

export const EXPORT_COMPRESSIONS = ["none", "zstd"] as const;
export type ExportCompression = (typeof EXPORT_COMPRESSIONS)[number];

/** Level of the on-the-fly zstd frames: the fastest, as the stream is produced while the client reads. */
const EXPORT_ZSTD_LEVEL = 1;
/** Chunks compressed at once (each holds a 4 MiB chunk and its frame until sent). */
const FRAMES_AHEAD = 3;

export interface SnapshotArchive {
  body: ReadableStream<Uint8Array>;
  /** Known when nothing is compressed on the fly. */
  contentLength?: number;
  fileName: string;
}

/** Member name of chunk `index` of `path` in a compressed archive; the importer parses it back. */
export function compressedChunkName(path: string, index: number): string {
  return `${path}.zst/${String(index).padStart(8, "0")}`;
}
export const COMPRESSED_CHUNK_NAME = /^(.+)\.zst\/(\d{8})$/;

export async function exportSnapshot(ctx: CoreContext, snapshotId: string, compression: ExportCompression): Promise<SnapshotArchive> {
  snapshotRow(ctx, snapshotId);
  const { manifest, handles } = await ctx.locks.run(`snapshot:${snapshotId}`, () => openPayload(ctx, snapshotId));
  const compressed = (size: number) => compression === "zstd" && size >= manifest.chunk_bytes;
  const json = new TextEncoder().encode(manifestJson(manifest));
  const contentLength =
    compression === "none" ? tarEntryBytes(json.length) + manifest.files.reduce((sum, f) => sum + tarEntryBytes(f.size), 0) + TAR_END.length : undefined;
  const mtime = new Date(manifest.created_at);
  async function* members(): AsyncGenerator<Uint8Array> {
    yield* member(MANIFEST_RECORD, [json], json.length, mtime);
    for (const [i, file] of manifest.files.entries()) {
      const chunks = readHandleChunks(handles[i]!, { chunkBytes: manifest.chunk_bytes });
      if (!compressed(file.size)) {
        yield* member(file.path, (async function* () { for await (const c of chunks) yield c.bytes; })(), file.size, mtime);
        continue;
      }
      // Frames are made ahead of the reader, a few at a time off the event loop, and sent in chunk order.
      const frames = new BoundedPipeline<Uint8Array>(FRAMES_AHEAD);
      let sent = 0;
      const send = (ready: Uint8Array[]) => ready.map((frame) => member(compressedChunkName(file.path, sent++), [frame], frame.length, mtime));
      for await (const chunk of chunks) {
        for (const frame of send(await frames.push(() => Bun.zstdCompress(chunk.bytes, { level: EXPORT_ZSTD_LEVEL })))) yield* frame;
      }
      for (const frame of send(await frames.drain())) yield* frame;
    }
    yield TAR_END;
  }
  return { body: streamOf(members(), () => closeAll(handles)), contentLength, fileName: `snapshot-${snapshotId}.tar` };
}

/** The manifest (brought up to date) and a handle on each of its files, checked to have the recorded size. */
async function openPayload(ctx: CoreContext, snapshotId: string): Promise<{ manifest: Manifest; handles: FileHandle[] }> {
  snapshotRow(ctx, snapshotId); // not deleted while the lock was awaited
  const manifest = await ctx.manifests.ensure(snapshotId);
  const dir = ctx.paths.snapshot(snapshotId);
  const handles: FileHandle[] = [];
  try {
    for (const file of manifest.files) {
      const handle = await open(join(dir, file.path), "r").catch(() => undefined);
      if (!handle) throw invalidState(`snapshot ${snapshotId}: ${file.path} is missing (POST /snapshots/${snapshotId}/verify reports what changed)`);
      handles.push(handle);
      if ((await handle.stat()).size !== file.size) {
        throw invalidState(`snapshot ${snapshotId}: ${file.path} is no longer the size its manifest records (POST /snapshots/${snapshotId}/verify reports what changed)`);
      }
    }
  } catch (err) {
    await closeAll(handles);
    throw err;
  }
  return { manifest, handles };
}

async function* member(path: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, mtime: Date): AsyncGenerator<Uint8Array> {
  yield tarHeader(path, size, mtime);
  for await (const piece of body) yield piece;
  const padding = tarPaddingBytes(size);
  if (padding > 0) yield new Uint8Array(padding);
}

/** A pull stream over `pieces`; `cleanup` runs once, whether the stream ends, fails or is cancelled. */
function streamOf(pieces: AsyncGenerator<Uint8Array>, cleanup: () => Promise<void>): ReadableStream<Uint8Array> {
  let cleaned = false;
  const once = async () => {
    if (!cleaned) {
      cleaned = true;
      await cleanup();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await pieces.next();
        if (next.done) {
          await once();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (err) {
        await once();
        controller.error(err);
      }
    },
    async cancel() {
      await pieces.return(undefined);
      await once();
    },
  });
}

async function closeAll(handles: FileHandle[]): Promise<void> {
  await Promise.allSettled(handles.map((h) => h.close()));
}
