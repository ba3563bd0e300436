// One object-storage remote, spoken to with Bun's built-in S3 client (no SDK). The only module that knows the
// remote layout; everything under `prefix` is content-addressed or written last:
//
//   <prefix>/chunks/<sha256>                    a piece of a payload file (4 MiB, the last one shorter), by hash
//   <prefix>/snapshots/<id>/manifest.json       which files and chunks make the snapshot; written after every
//                                               chunk it names, so a snapshot is visible only once it is whole
import { S3Client } from "bun";

/** Where a remote is and how to sign for it (secrets resolved: never logged or returned by the API). */
export interface RemoteTarget {
  endpoint: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ("" = the bucket's root). */
  prefix: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** One request (a 4 MiB chunk at worst) that takes longer is a failure: the job can be run again. */
const REMOTE_REQUEST_TIMEOUT_MS = 120_000;
/** A manifest lists files and chunk hashes: one past this size is not one of ours (a 1 TiB payload needs ~17 MiB). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const LIST_PAGE_KEYS = 1000;
/** A listing longer than this many pages (10 M chunks, 40 TiB) is not a bucket we manage. */
const MAX_LIST_PAGES = 10_000;
/** Failed uploads are retried by Bun's client this many times. */
const UPLOAD_RETRIES = 3;

export class RemoteStore {
  private readonly client: S3Client;
  private readonly root: string;

  constructor(target: RemoteTarget) {
    this.client = new S3Client({
      endpoint: target.endpoint,
      bucket: target.bucket,
      region: target.region,
      accessKeyId: target.accessKeyId,
      secretAccessKey: target.secretAccessKey,
      retry: UPLOAD_RETRIES,
    });
    this.root = target.prefix ? `${target.prefix}/` : "";
  }

  /** Every chunk the remote holds and its size, by one listing (cheaper than a HEAD per chunk on a large push). */
  async chunkSizes(): Promise<Map<string, number>> {
    const prefix = `${this.root}chunks/`;
    const sizes = new Map<string, number>();
    let startAfter: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const listed = await timed(`list ${prefix}`, this.client.list({ prefix, maxKeys: LIST_PAGE_KEYS, ...(startAfter ? { startAfter } : {}) }));
      const objects = listed.contents ?? [];
      for (const object of objects) sizes.set(object.key.slice(prefix.length), object.size ?? -1);
      const keys = objects.map((object) => object.key);
      if (!listed.isTruncated || keys.length === 0) return sizes;
      startAfter = keys.at(-1);
    }
    throw new Error(`listing ${prefix} did not end within ${MAX_LIST_PAGES} pages`);
  }

  async putChunk(sha256: string, bytes: Uint8Array): Promise<void> {
    await timed(`PUT chunk ${sha256}`, this.client.write(this.chunkKey(sha256), bytes));
  }

  /**
   * A chunk's bytes as stored, at most `length` + 1 of them (a ranged GET: a remote cannot make us hold more than
   * a chunk); the caller checks them against the length and hash it expects.
   */
  getChunk(sha256: string, length: number): Promise<Uint8Array> {
    return timed(`GET chunk ${sha256}`, this.client.file(this.chunkKey(sha256)).slice(0, length + 1).bytes());
  }

  async putManifest(snapshotId: string, manifest: unknown): Promise<void> {
    const body = `${JSON.stringify(manifest)}\n`;
    await timed(`PUT manifest of ${snapshotId}`, this.client.write(this.manifestKey(snapshotId), body, { type: "application/json" }));
  }

  /** The manifest's JSON, or undefined when the remote has no (whole) snapshot of that id. */
  async getManifest(snapshotId: string): Promise<unknown> {
    let text: string;
    try {
      text = await timed(`GET manifest of ${snapshotId}`, this.client.file(this.manifestKey(snapshotId)).slice(0, MAX_MANIFEST_BYTES + 1).text());
    } catch (err) {
      if ((err as { code?: string }).code === "NoSuchKey") return undefined;
      throw err;
    }
    if (text.length > MAX_MANIFEST_BYTES) throw new Error(`the manifest of ${snapshotId} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`the manifest of ${snapshotId} is not JSON: ${(err as Error).message}`);
    }
  }

  private chunkKey(sha256: string): string {
    return `${this.root}chunks/${sha256}`;
  }

  private manifestKey(snapshotId: string): string {
    return `${this.root}snapshots/${snapshotId}/manifest.json`;
  }
}

/** Bounds one request in time; its error names the request (S3 errors alone say little: "NoSuchKey"). */
async function timed<T>(what: string, request: Promise<T>): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REMOTE_REQUEST_TIMEOUT_MS / 1000} s`)), REMOTE_REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([request, timeout]);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw Object.assign(new Error(`${what}: ${e.message ?? String(err)}`, { cause: err }), e.code ? { code: e.code } : {});
  } finally {
    clearTimeout(timer);
  }
}
