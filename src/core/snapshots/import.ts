// POST /snapshots/import: an archive made by export (export.ts) becomes a snapshot of this server. The manifest
// comes first and is checked before any payload byte is written: its format, this host's compatibility, the id
// being free, the disk space. Every member is then written into staging while each chunk is hashed and compared
// as it arrives, so a flipped byte stops the upload at its chunk. Only a complete archive whose every file
// matched is committed (rename, then the row); anything else removes the staging dir and leaves nothing visible.
import { mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { zstdDecompress } from "node:zlib";
import { commitDir, fsyncDir, removeTree, stageDir, writeFileAtomic } from "../../fs/atomic.ts";
import { readTar, TarError, type TarEntry } from "../../store/archive/tar.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import { sha256Hex, type FileHandle } from "../../store/payload/chunk-hash.ts";
import { hashPayloadFiles, ManifestError, manifestJson, manifestPath, parseManifest, type Manifest, type ManifestFile } from "../../store/payload/manifest.ts";
import { MANIFEST_RECORD, SNAPSHOT_GUEST_DIR } from "../../store/payload/layout.ts";
import { readInstanceRecord } from "../../store/payload/instance-record.ts";
import { readSnapshotRecord } from "../../store/payload/snapshot-record.ts";
import { PayloadError } from "../../store/payload/record-file.ts";
import { isSafeId } from "../../store/paths.ts";
import type { CoreContext } from "../service/context.ts";
import { conflict, DomainError, inStep, invalidRequest } from "../errors.ts";
import { ensureFreeSpace } from "../service/disk-space.ts";
import { indexSnapshot } from "../service/payload-reindex.ts";
import { generationWithContent } from "../images/generations.ts";
import { assertCompatible } from "./compatibility.ts";
import { COMPRESSED_CHUNK_NAME } from "./export.ts";
import { getSnapshot, type SnapshotView } from "./view.ts";

/** The manifest member is small JSON; anything larger is not one of ours. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Chunk sizes an importer accepts (one chunk is held in memory while it is checked). */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const inflate = promisify(zstdDecompress);
/** Compressed chunks decompressed at once (each holds a frame and its 4 MiB chunk until written). */
const FRAMES_AHEAD = 3;

export async function importSnapshot(ctx: CoreContext, archive: AsyncIterable<Uint8Array>): Promise<SnapshotView> {
  const staging = await stageDir(ctx.paths.tmpDir);
  let snapshotId: string | undefined;
  try {
    const entries = readTar(archive);
    const manifest = await readManifestMember(ctx, entries);
    snapshotId = manifest.snapshot.id;
    await ctx.locks.run(`snapshot:${snapshotId}`, async () => {
      if (ctx.snapshots.get(snapshotId!)) throw conflict(`snapshot ${snapshotId} already exists on this host`);
      await receiveFiles(entries, manifest, staging);
      const record = await readSnapshotRecord(staging);
      if (record.id !== snapshotId) throw new ManifestError(`snapshot.json names snapshot ${record.id}, the manifest ${snapshotId}`);
      if (record.name !== null && ctx.snapshots.nameTaken(record.sourceInstanceId, record.name)) {
        throw conflict(`snapshot name ${JSON.stringify(record.name)} already exists for source instance ${record.sourceInstanceId}`);
      }
      await rebaseRecords(ctx, staging, manifest);
      await commitDir(staging, ctx.paths.snapshot(snapshotId!));
      try {
        await indexSnapshot(ctx, snapshotId!);
      } catch (err) {
        await removeTree(ctx.paths.snapshot(snapshotId!));
        throw inStep("index imported snapshot", err);
      }
    });
  } catch (err) {
    await removeTree(staging);
    // A payload record missing or malformed in the archive (the manifest listed what came) is the archive's fault too.
    if (err instanceof TarError || err instanceof ManifestError || err instanceof PayloadError) {
      throw invalidRequest(`archive refused: ${err.message}`, "invalid_archive");
    }
    throw err instanceof DomainError ? err : inStep("import snapshot", err);
  }
  return getSnapshot(ctx, snapshotId!);
}

/** The first member: a manifest this server reads, of a snapshot this host can restore, that fits on disk. */
async function readManifestMember(ctx: CoreContext, entries: AsyncGenerator<TarEntry>): Promise<Manifest> {
  const first = await entries.next();
  if (first.done || first.value.path !== MANIFEST_RECORD) throw new TarError(`the first member must be ${MANIFEST_RECORD}`);
  if (first.value.size > MAX_MANIFEST_BYTES) throw new TarError(`${MANIFEST_RECORD} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const pieces: Uint8Array[] = [];
  for await (const piece of first.value.body) pieces.push(piece.slice());
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(Buffer.concat(pieces)));
  } catch (err) {
    throw new ManifestError(`${MANIFEST_RECORD} is not JSON: ${(err as Error).message}`);
  }
  const parsed = parseManifest(json);
  await assertCompatible(ctx, parsed, "snapshot cannot be restored on this host");
  const manifest = (parsed as Extract<typeof parsed, { kind: "current" }>).manifest;
  if (!isSafeId(manifest.snapshot.id)) throw new ManifestError(`snapshot.id ${JSON.stringify(manifest.snapshot.id)} is not a snapshot id`);
  if (manifest.chunk_bytes > MAX_CHUNK_BYTES) throw new ManifestError(`chunk_bytes ${manifest.chunk_bytes} is larger than ${MAX_CHUNK_BYTES}`);
  await ensureFreeSpace(ctx, manifest.files.reduce((sum, f) => sum + f.size, 0), `import of snapshot ${manifest.snapshot.id}`);
  return manifest;
}

/** Writes every member into `staging`, each chunk checked against the manifest; all files must arrive whole. */
async function receiveFiles(entries: AsyncGenerator<TarEntry>, manifest: Manifest, staging: string): Promise<void> {
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const writers = new Map<string, CheckedFileWriter>();
  const writerFor = async (path: string, compressed: boolean) => {
    const file = byPath.get(path);
    if (!file) throw new TarError(`member ${path} is not in the manifest`);
    let writer = writers.get(path);
    if (!writer) {
      writer = await CheckedFileWriter.create(join(staging, path), file, manifest.chunk_bytes, compressed);
      writers.set(path, writer);
    } else if (!compressed || writer.finished || !writer.compressed) {
      throw new TarError(`member ${path} appears twice`);
    }
    return writer;
  };
  // Frames are decompressed a few at a time off the event loop while the previous chunks are checked and written.
  const inflating = new BoundedPipeline<{ writer: CheckedFileWriter; chunk: Uint8Array }>(FRAMES_AHEAD);
  const place = async (ready: { writer: CheckedFileWriter; chunk: Uint8Array }[]) => {
    for (const { writer, chunk } of ready) {
      await writer.write(chunk);
      if (writer.received === writer.file.size) await writer.finish();
    }
  };
  try {
    for await (const entry of entries) {
      const chunkMember = COMPRESSED_CHUNK_NAME.exec(entry.path);
      if (chunkMember && !byPath.has(entry.path)) {
        const writer = await writerFor(chunkMember[1]!, true);
        const index = Number(chunkMember[2]);
        if (index !== writer.framesSeen) throw new TarError(`${entry.path}: chunk ${index} arrived where chunk ${writer.framesSeen} was due`);
        writer.framesSeen++;
        // A frame never grows much past its chunk; a bigger member is not one.
        if (entry.size > manifest.chunk_bytes + manifest.chunk_bytes / 64 + 1024) throw new TarError(`${entry.path} is larger than a compressed chunk can be`);
        const pieces: Uint8Array[] = [];
        for await (const piece of entry.body) pieces.push(piece.slice());
        const frame = Buffer.concat(pieces);
        await place(
          await inflating.push(async () => {
            try {
              return { writer, chunk: await inflate(frame, { maxOutputLength: manifest.chunk_bytes }) };
            } catch (err) {
              throw new TarError(`${entry.path} is not a zstd frame of one chunk: ${(err as Error).message}`);
            }
          }),
        );
        continue;
      }
      const writer = await writerFor(entry.path, false);
      if (entry.size !== writer.file.size) throw new TarError(`${entry.path} has ${entry.size} bytes, the manifest says ${writer.file.size}`);
      for await (const piece of entry.body) await writer.write(piece);
      await writer.finish();
    }
    await place(await inflating.drain());
    for (const file of manifest.files) {
      if (!writers.get(file.path)?.finished) throw new TarError(`archive ends before ${file.path} is complete`);
    }
  } finally {
    await inflating.drain().catch(() => {}); // nothing still decompressing once this returns
    await Promise.allSettled([...writers.values()].map((w) => w.close()));
  }
}

/** One payload file being received: bytes are buffered to whole chunks, each hashed and compared before it is written. */
class CheckedFileWriter {
  private readonly buffer: Uint8Array;
  private buffered = 0;
  private readonly whole = new Bun.CryptoHasher("sha256");
  chunksWritten = 0;
  bytesWritten = 0;
  /** Compressed chunk members accepted so far (their chunks may still be decompressing). */
  framesSeen = 0;
  finished = false;
  /** All-zero chunks are checked like any other but left as holes: a sparse disk stays sparse. */
  private readonly zeros: Uint8Array;

  private constructor(
    private readonly handle: FileHandle,
    readonly file: ManifestFile,
    chunkBytes: number,
    readonly compressed: boolean,
  ) {
    this.buffer = new Uint8Array(Math.min(chunkBytes, Math.max(file.size, 1)));
    this.zeros = new Uint8Array(this.buffer.length);
  }

  /** Bytes taken so far, written or waiting for their chunk to fill. */
  get received(): number {
    return this.bytesWritten + this.buffered;
  }

  static async create(path: string, file: ManifestFile, chunkBytes: number, compressed: boolean): Promise<CheckedFileWriter> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    return new CheckedFileWriter(await open(path, "wx", 0o600), file, chunkBytes, compressed);
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let used = 0; used < bytes.length; ) {
      if (this.bytesWritten + this.buffered + (bytes.length - used) > this.file.size) throw new TarError(`${this.file.path} is longer than the manifest says`);
      const take = Math.min(bytes.length - used, this.buffer.length - this.buffered);
      this.buffer.set(bytes.subarray(used, used + take), this.buffered);
      this.buffered += take;
      used += take;
      if (this.buffered === this.buffer.length) await this.flush();
    }
  }

  async finish(): Promise<void> {
    if (this.buffered > 0) await this.flush();
    if (this.bytesWritten !== this.file.size) throw new TarError(`${this.file.path} ends after ${this.bytesWritten} of ${this.file.size} bytes`);
    if (this.whole.digest("hex") !== this.file.sha256) throw new TarError(`${this.file.path} does not match its SHA-256`);
    await this.handle.truncate(this.file.size); // a file ending in a hole
    await this.handle.sync();
    await this.close();
    this.finished = true;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  private async flush(): Promise<void> {
    const chunk = this.buffer.subarray(0, this.buffered);
    if (sha256Hex(chunk) !== this.file.chunks[this.chunksWritten]) {
      throw new TarError(`${this.file.path}: chunk ${this.chunksWritten} does not match its SHA-256 in the manifest`);
    }
    this.whole.update(chunk);
    if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(this.zeros.subarray(0, chunk.length))) {
      await this.handle.write(chunk, 0, chunk.length, this.bytesWritten);
    }
    this.bytesWritten += chunk.length;
    this.chunksWritten++;
    this.buffered = 0;
  }
}

/**
 * The records name files by absolute path on the exporting host (the image's kernel and initrd, the source's
 * guest dir): those under its data dir are moved to this one, the image to where it is registered here. The
 * records rewritten are hashed again, and the manifest kept with the snapshot says what is on disk here.
 */
export async function rebaseRecords(ctx: CoreContext, staging: string, manifest: Manifest): Promise<void> {
  const guest = join(staging, SNAPSHOT_GUEST_DIR);
  const { config } = await readInstanceRecord(guest);
  const kernel = typeof config.kernel === "string" ? config.kernel : undefined;
  // The generation with the snapshot's image contents (checked compatible before), an older one after a rebuild.
  const image = (await generationWithContent(ctx, manifest.image.name, manifest.image.content_hash)) ?? ctx.images.get(manifest.image.name);
  const moves: [string, string][] = [];
  if (kernel && image) moves.push([`${dirname(kernel)}/`, `${dirname(image.kernel)}/`]);
  // The exporting data dir holds the kernel in images/<name>/, or in images/<name>@<hash>/ for a later generation.
  const kernelDir = kernel ? `${dirname(kernel)}/` : "";
  const at = kernelDir.lastIndexOf("/images/");
  if (at >= 0 && kernelDir.slice(at + "/images/".length, -1).split("@")[0] === manifest.image.name) moves.push([kernelDir.slice(0, at + 1), `${ctx.paths.root}/`]);
  const records = manifest.files.filter((f) => f.path.startsWith(`${SNAPSHOT_GUEST_DIR}/`) && f.path.endsWith(".json"));
  const changed: { path: string; size: number }[] = [];
  for (const record of records) {
    const path = join(staging, record.path);
    const text = await Bun.file(path).text();
    const moved = moves.reduce((t, [from, to]) => (from === to ? t : t.replaceAll(JSON.stringify(from).slice(1, -1), JSON.stringify(to).slice(1, -1))), text);
    if (moved === text) continue;
    await writeFileAtomic(path, moved, { mode: 0o600 });
    changed.push({ path: record.path, size: Buffer.byteLength(moved) });
  }
  const rehashed = new Map((await hashPayloadFiles(staging, changed)).map((f) => [f.path, f]));
  const local = { ...manifest, files: manifest.files.map((f) => rehashed.get(f.path) ?? f) };
  await writeFileAtomic(manifestPath(staging), manifestJson(local));
  await fsyncDir(guest);
}
