// One object-storage remote, spoken to with Bun's built-in S3 client (no SDK). The only module that knows the
// remote layout; everything under `prefix` is content-addressed or written last:
//
//   <prefix>/chunks/<sha256>                    a piece of a payload file (4 MiB, the last one shorter), by hash
//   <prefix>/snapshots/<id>/manifest.json       which files and chunks make the snapshot; written after every
//                                               chunk it names, so a snapshot is visible only once it is whole
//   <prefix>/pending/<id>.json                  a push's intent: the manifest it is about to complete, written
//                                               before it looks at which chunks exist, removed after the manifest;
//                                               garbage collection keeps every chunk a young intent names
import { S3Client } from "bun";
import { isSafeId } from "../paths.ts";

/** Where a remote is and how to sign for it (secrets resolved: never logged or returned by the API). */
export interface RemoteTarget {
  endpoint: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ("" = the bucket's root). */
  prefix: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** An unreferenced chunk younger than this is kept by garbage collection: a push may be about to name it. */
  gcGraceSeconds: number;
}

/** The remote answered, with an object that is not one of ours (too large, not JSON): not a failure to reach it. */
export class RemoteContentError extends Error {
  override readonly name = "RemoteContentError";
}

/** An object as a listing shows it. */
export interface ListedObject {
  /** The key below the listed prefix. */
  name: string;
  size: number;
  lastModified: Date;
}

/** One request (a 4 MiB chunk at worst) that takes longer is a failure: the job can be run again. */
const REMOTE_REQUEST_TIMEOUT_MS = 120_000;
/** A manifest lists files and chunk hashes: one past this size is not one of ours (a 1 TiB payload needs ~17 MiB). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const LIST_PAGE_KEYS = 1000;
/** A listing longer than this many pages (10 M chunks, 40 TiB) is not a bucket we manage. */
const MAX_LIST_PAGES = 10_000;
/** Key names (below their listed prefix) that are ours; anything else in the bucket is not read. */
const MANIFEST_NAME = /^([^/]+)\/manifest\.json$/;
const INTENT_NAME = /^([^/]+)\.json$/;

/** The snapshot id a key name holds by `pattern`, if it is one. */
function idIn(pattern: RegExp, name: string): string | undefined {
  const id = pattern.exec(name)?.[1];
  return id !== undefined && isSafeId(id) ? id : undefined;
}
/** Failed uploads are retried by Bun's client this many times. */
const UPLOAD_RETRIES = 3;

export class RemoteStore {
  private readonly client: S3Client;
  private readonly root: string;
  readonly gcGraceSeconds: number;

  constructor(target: RemoteTarget) {
    this.gcGraceSeconds = target.gcGraceSeconds;
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
    const sizes = new Map<string, number>();
    for await (const object of this.objects("chunks/")) sizes.set(object.name, object.size);
    return sizes;
  }

  /** Every chunk with its size and age, for garbage collection. */
  chunks(): AsyncGenerator<ListedObject> {
    return this.objects("chunks/");
  }

  /**
   * One page of snapshot ids (those with a manifest), in key order after `after` (a `next` of an earlier page).
   * One listing request of at most `limit` keys: a bucket full of other keys yields short pages, never a long read.
   */
  async snapshotPage(limit: number, after?: string): Promise<{ ids: string[]; next?: string }> {
    const { objects, truncated } = await this.page("snapshots/", Math.min(limit, LIST_PAGE_KEYS), after);
    const ids = objects.flatMap((object) => idIn(MANIFEST_NAME, object.name) ?? []);
    return { ids, ...(truncated && objects.length > 0 ? { next: objects.at(-1)!.name } : {}) };
  }

  /** Every snapshot id with a manifest (garbage collection's mark). */
  async *snapshotIds(): AsyncGenerator<string> {
    for await (const object of this.objects("snapshots/")) {
      const id = idIn(MANIFEST_NAME, object.name);
      if (id) yield id;
    }
  }

  /** The pushes under way (their intents) and when each was written. */
  async intents(): Promise<{ id: string; lastModified: Date }[]> {
    const found: { id: string; lastModified: Date }[] = [];
    for await (const object of this.objects("pending/")) {
      const id = idIn(INTENT_NAME, object.name);
      if (id) found.push({ id, lastModified: object.lastModified });
    }
    return found;
  }

  private async *objects(under: string): AsyncGenerator<ListedObject> {
    let after: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const { objects, truncated } = await this.page(under, LIST_PAGE_KEYS, after);
      yield* objects;
      if (!truncated || objects.length === 0) return;
      after = objects.at(-1)!.name;
    }
    throw new Error(`listing ${this.root}${under} did not end within ${MAX_LIST_PAGES} pages`);
  }

  private async page(under: string, maxKeys: number, after?: string): Promise<{ objects: ListedObject[]; truncated: boolean }> {
    const prefix = `${this.root}${under}`;
    const listed = await timed(`list ${prefix}`, this.client.list({ prefix, maxKeys, ...(after ? { startAfter: `${prefix}${after}` } : {}) }));
    const objects = (listed.contents ?? []).map((object) => ({
      name: object.key.slice(prefix.length),
      size: object.size ?? -1,
      // An object without a date counts as new: garbage collection never deletes what it cannot age.
      lastModified: object.lastModified ? new Date(object.lastModified) : new Date(8.64e15),
    }));
    return { objects, truncated: listed.isTruncated === true };
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

  deleteChunk(sha256: string): Promise<void> {
    return timed(`DELETE chunk ${sha256}`, this.client.unlink(this.chunkKey(sha256)));
  }

  async putManifest(snapshotId: string, manifest: unknown): Promise<void> {
    await this.putJson(this.manifestKey(snapshotId), `manifest of ${snapshotId}`, manifest);
  }

  /** The manifest's JSON, or undefined when the remote has no (whole) snapshot of that id. */
  getManifest(snapshotId: string): Promise<unknown> {
    return this.getJson(this.manifestKey(snapshotId), `manifest of ${snapshotId}`);
  }

  hasManifest(snapshotId: string): Promise<boolean> {
    return timed(`HEAD manifest of ${snapshotId}`, this.client.exists(this.manifestKey(snapshotId)));
  }

  deleteManifest(snapshotId: string): Promise<void> {
    return timed(`DELETE manifest of ${snapshotId}`, this.client.unlink(this.manifestKey(snapshotId)));
  }

  putIntent(snapshotId: string, manifest: unknown): Promise<void> {
    return this.putJson(this.intentKey(snapshotId), `intent of ${snapshotId}`, manifest);
  }

  /** The manifest a push under way means to complete, undefined when it finished meanwhile. */
  getIntent(snapshotId: string): Promise<unknown> {
    return this.getJson(this.intentKey(snapshotId), `intent of ${snapshotId}`);
  }

  deleteIntent(snapshotId: string): Promise<void> {
    return timed(`DELETE intent of ${snapshotId}`, this.client.unlink(this.intentKey(snapshotId)));
  }

  private async putJson(key: string, what: string, value: unknown): Promise<void> {
    await timed(`PUT ${what}`, this.client.write(key, `${JSON.stringify(value)}\n`, { type: "application/json" }));
  }

  /** A manifest-sized JSON object (read to at most MAX_MANIFEST_BYTES + 1), undefined when there is none. */
  private async getJson(key: string, what: string): Promise<unknown> {
    let text: string;
    try {
      text = await timed(`GET ${what}`, this.client.file(key).slice(0, MAX_MANIFEST_BYTES + 1).text());
    } catch (err) {
      if ((err as { code?: string }).code === "NoSuchKey") return undefined;
      throw err;
    }
    if (text.length > MAX_MANIFEST_BYTES) throw new RemoteContentError(`the ${what} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new RemoteContentError(`the ${what} is not JSON: ${(err as Error).message}`);
    }
  }

  private chunkKey(sha256: string): string {
    return `${this.root}chunks/${sha256}`;
  }

  private manifestKey(snapshotId: string): string {
    return `${this.root}snapshots/${snapshotId}/manifest.json`;
  }

  private intentKey(snapshotId: string): string {
    return `${this.root}pending/${snapshotId}.json`;
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
