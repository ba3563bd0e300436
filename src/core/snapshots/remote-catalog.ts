// What a remote holds: its snapshots, a page at a time, each described from its manifest (and its name from the
// snapshot record the manifest lists, a small hash-checked chunk). One listing request and at most `limit`
// manifest reads per page, a few at once, each bounded in size (remote-store.ts): a huge or hostile bucket makes
// pages short or entries unreadable, never a read without end.
import { z } from "zod";
import { sha256Hex } from "../../store/payload/chunk-hash.ts";
import { SNAPSHOT_RECORD } from "../../store/payload/layout.ts";
import { ManifestError, parseManifest, type Manifest } from "../../store/payload/manifest.ts";
import { BoundedPipeline } from "../../store/remote/bounded-pipeline.ts";
import { RemoteContentError, type RemoteStore } from "../../store/remote/remote-store.ts";
import type { CoreContext } from "../service/context.ts";
import { totals } from "./push.ts";
import { fromRemote, remoteAt } from "./remotes.ts";

/** Manifests read at once for a page. */
const READ_WIDTH = 4;
/** A snapshot record is a few hundred bytes; a larger one is not read for its name. */
const MAX_RECORD_BYTES = 64 * 1024;

export interface RemoteSnapshot {
  id: string;
  name: string | null;
  kind: string | null;
  hypervisor: string | null;
  memoryBytes: number | null;
  createdAt: string | null;
  /** Payload bytes: what a pull writes. */
  totalBytes: number | null;
  /** Why this server cannot read the manifest (a newer format, damaged); null when it can. */
  problem: string | null;
}

export interface RemoteSnapshotPage {
  items: RemoteSnapshot[];
  /** Where the next page starts, absent on the last one. */
  next?: string;
}

export async function listRemoteSnapshots(ctx: CoreContext, remoteName: string, limit: number, after?: string): Promise<RemoteSnapshotPage> {
  const remote = remoteAt(ctx, remoteName);
  const page = await fromRemote(remote.snapshotPage(limit, after));
  const pipeline = new BoundedPipeline<RemoteSnapshot>(READ_WIDTH);
  const items: RemoteSnapshot[] = [];
  for (const id of page.ids) items.push(...(await pipeline.push(() => fromRemote(describe(remote, id)))));
  items.push(...(await pipeline.drain()));
  return { items, ...(page.next ? { next: page.next } : {}) };
}

async function describe(remote: RemoteStore, id: string): Promise<RemoteSnapshot> {
  const unreadable = (problem: string): RemoteSnapshot => ({ id, name: null, kind: null, hypervisor: null, memoryBytes: null, createdAt: null, totalBytes: null, problem });
  let parsed;
  try {
    const json = await remote.getManifest(id);
    if (json === undefined) return unreadable("deleted while listed");
    parsed = parseManifest(json);
  } catch (err) {
    if (err instanceof RemoteContentError || err instanceof ManifestError) return unreadable(err.message);
    throw err;
  }
  if (parsed.kind === "newer") return unreadable(`manifest format ${parsed.formatVersion} is newer than this server reads`);
  const { manifest } = parsed;
  return {
    id,
    name: await recordName(remote, manifest),
    kind: manifest.snapshot.kind,
    hypervisor: manifest.hypervisor.type,
    memoryBytes: manifest.memory.bytes,
    createdAt: manifest.created_at,
    totalBytes: totals(manifest).bytes,
    problem: null,
  };
}

/** Only the field read here: the record's own schema (snapshot-record.ts) parses whole records at pull time. */
const RecordName = z.object({ name: z.string().nullable() });

/** The snapshot's name from its record on the remote; null when the record is missing, large, or does not check out. */
async function recordName(remote: RemoteStore, manifest: Manifest): Promise<string | null> {
  const file = manifest.files.find((f) => f.path === SNAPSHOT_RECORD);
  if (!file || file.size > MAX_RECORD_BYTES || file.chunks.length !== 1) return null;
  const bytes = await remote.getChunk(file.chunks[0]!, file.size).catch(() => undefined);
  if (!bytes || bytes.length !== file.size || sha256Hex(bytes) !== file.sha256) return null;
  try {
    const parsed = RecordName.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data.name : null;
  } catch {
    return null;
  }
}
