// Payload dirs without a row (the database lost or rolled back, a crash between a dir's rename and its row's
// commit) are indexed again from the records they carry: images from image.json, instances from their guest dir's
// instance record, snapshots from snapshot.json plus their guest copy's instance record and their host-local
// record (pin, origin), fork links from the forks' records.
// What cannot be read is moved to <data>/quarantine and logged; start-up never deletes a payload it does not know.
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CODECS } from "../../store/codecs/codec-table.ts";
import { payloadSizes } from "../../store/file-sizes.ts";
import { readInstanceRecord, type InstanceIdentity } from "../../store/payload/instance-record.ts";
import { SNAPSHOT_GUEST_DIR, standbyPath } from "../../store/payload/layout.ts";
import { readLocalState, type LocalState } from "../../store/payload/local-state.ts";
import { compressedPath, storedMemoryForm } from "../../store/payload/memory-forms.ts";
import { readSnapshotRecord } from "../../store/payload/snapshot-record.ts";
import { readSavedVm } from "../../store/payload/vm-record.ts";
import { readImageRecord } from "../../store/payload/image-record.ts";
import { isImageDirName, isSafeId, type QuarantineKind } from "../../store/paths.ts";
import type { NewSnapshotRow } from "../../store/snapshots-repo.ts";
import type { EnabledCompression } from "../../store/schema.ts";
import { storedMetadataOf } from "../snapshots/create.ts";
import type { CoreContext } from "./context.ts";
import { isHypervisorType } from "./hypervisor-lookup.ts";

/** Indexes the dirs of `images/`, `snapshots/` and `guests/` that no row names (`known*`: the rows' names and ids). */
export async function reindexPayloads(ctx: CoreContext, knownInstances: Set<string>, knownSnapshots: Set<string>): Promise<void> {
  // An image's dir is named after it, or after its generation (images/default/ may hold `default@<hash>`).
  const knownImages = new Set(ctx.images.list().map((image) => basename(dirname(image.kernel))));
  const imageOf = (name: string) => name.split("@")[0];
  for (const name of await unknownEntries(ctx.paths.imagesDir, knownImages)) {
    const dir = join(ctx.paths.imagesDir, name);
    await indexOrQuarantine(ctx, "image", dir, name, isImageDirName, async () => {
      const row = await readImageRecord(dir);
      if (imageOf(row.name) !== imageOf(name)) throw new Error(`its record names image ${row.name}`);
      ctx.images.upsert(row);
    });
  }
  for (const name of await unknownEntries(ctx.paths.snapshotsDir, knownSnapshots)) {
    await indexOrQuarantine(ctx, "snapshot", join(ctx.paths.snapshotsDir, name), name, isSafeId, () => indexSnapshot(ctx, name));
  }
  const forks: { id: string; snapshotId: string; at: Date }[] = [];
  for (const name of await unknownEntries(ctx.paths.guestsDir, knownInstances)) {
    await indexOrQuarantine(ctx, "instance", join(ctx.paths.guestsDir, name), name, isSafeId, async () => {
      const identity = await indexInstance(ctx, name);
      if (identity.forkOfSnapshot) forks.push({ id: identity.id, snapshotId: identity.forkOfSnapshot, at: identity.createdAt });
    });
  }
  // After both: a fork's snapshot may have been re-indexed above. A link to a snapshot that is gone counts for nothing.
  for (const fork of forks) {
    if (ctx.snapshots.get(fork.snapshotId)) ctx.snapshots.linkFork(fork.id, fork.snapshotId, fork.at);
  }
}

async function unknownEntries(root: string, known: Set<string>): Promise<string[]> {
  return (await readdir(root).catch(() => [] as string[])).filter((name) => !known.has(name)).sort();
}

async function indexOrQuarantine(
  ctx: CoreContext,
  kind: QuarantineKind,
  path: string,
  name: string,
  isSafe: (name: string) => boolean,
  index: () => Promise<void>,
): Promise<void> {
  try {
    if (!isSafe(name)) throw new Error(`${JSON.stringify(name)} is not a valid ${kind} dir name`);
    await index();
    ctx.logger.warn(`re-indexed ${kind} from its payload record`, { path });
  } catch (err) {
    const to = ctx.paths.quarantine(kind, name, ctx.clock());
    await mkdir(ctx.paths.quarantineDir, { recursive: true, mode: 0o700 });
    await rename(path, to);
    ctx.logger.error(`quarantined an unreadable ${kind} payload`, { path, to, error: err instanceof Error ? err.message : String(err) });
  }
}

async function indexInstance(ctx: CoreContext, id: string): Promise<InstanceIdentity> {
  const dir = ctx.paths.guest(id);
  if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
  const { instance } = await readInstanceRecord(dir);
  if (!instance) throw new Error("its instance record predates format version 2 and does not name the instance");
  if (instance.id !== id) throw new Error(`its record names instance ${instance.id}`);
  const taken = ctx.instances.byName(instance.name);
  if (taken) throw new Error(`its name ${instance.name} is taken by instance ${taken.id}`);
  const { forkOfSnapshot: _link, ...row } = instance;
  ctx.instances.insert({ ...row, hypervisorVersion: null, pid: null, rowState: "ready", stateError: null, startedAt: null, stoppedAt: null });
  return instance;
}

/** Indexes the snapshot dir `<data>/snapshots/<id>` from the records it carries (also a pulled or imported one). */
export async function indexSnapshot(ctx: CoreContext, id: string): Promise<void> {
  const dir = ctx.paths.snapshot(id);
  const record = await readSnapshotRecord(dir);
  if (record.id !== id) throw new Error(`its record names snapshot ${record.id}`);
  const guest = join(dir, SNAPSHOT_GUEST_DIR);
  const { instance } = await readInstanceRecord(guest);
  if (!instance) throw new Error("its guest copy's instance record does not name the source instance");
  const { formatVersion: _version, ...fields } = record;
  ctx.snapshots.insert({
    ...fields,
    storedMetadata: storedMetadataOf({ ...instance, hypervisorVersion: record.sourceHypervisorVersion }),
    ...(await payloadSizes(guest)),
    ...(await compressionOf(ctx, guest, record.kind === "Standby" ? instance.hypervisor : undefined, record.compression)),
    ...(await localStateOf(ctx, dir)),
    rowState: "ready",
  });
}

/** A damaged host-local record cannot say whether the user pinned the snapshot: it comes back pinned (and manual,
 * so no schedule prunes it), which a PATCH undoes; the rest of the payload is still good. */
async function localStateOf(ctx: CoreContext, dir: string): Promise<LocalState> {
  return readLocalState(dir).catch((err: unknown) => {
    ctx.logger.warn("unreadable snapshot local state: indexed as pinned", { path: dir, error: err instanceof Error ? err.message : String(err) });
    return { pinned: true, origin: "manual", scheduleId: null };
  });
}

/** What the stored memory's form says about compression, at the level the snapshot record asked for (older records
 * say none: the codec's default). */
async function compressionOf(
  ctx: CoreContext,
  guest: string,
  hypervisor: string | undefined,
  asked: EnabledCompression | null | undefined,
): Promise<Pick<NewSnapshotRow, "compressionState" | "compression" | "compressionError" | "compressedSizeBytes" | "uncompressedSizeBytes">> {
  const none = { compressionState: "none", compression: null, compressionError: null, compressedSizeBytes: null, uncompressedSizeBytes: null } as const;
  const standby = standbyPath(guest);
  if (hypervisor === undefined || !existsSync(standby)) return none;
  // Version-1 records do not name their memory file (nor does a standby dir without its record): the driver's does.
  const recorded = await readSavedVm(standby).then((r) => r.memoryFile, () => undefined);
  const memoryFile = recorded ?? (isHypervisorType(hypervisor) ? ctx.hypervisors[hypervisor]?.memoryFile : undefined);
  const form = memoryFile === undefined ? undefined : storedMemoryForm(standby, memoryFile);
  if (form?.kind !== "compressed") return none;
  const compressed = (await stat(compressedPath(join(standby, memoryFile!), form.codec))).size;
  const level = asked?.algorithm === form.codec ? asked.level : CODECS[form.codec].levels.default;
  return { ...none, compressionState: "compressed", compression: { enabled: true, algorithm: form.codec, level }, compressedSizeBytes: compressed };
}
