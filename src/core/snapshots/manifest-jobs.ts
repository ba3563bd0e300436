// Hashing snapshot payloads into their manifest (store/payload/manifest.ts) in the background: a snapshot is
// committed first, then one job per snapshot reads its files once, a chunk at a time, and writes manifest.json
// atomically beside snapshot.json. Progress is kept per job for GET /snapshots/{id}/manifest. A job is not
// persisted: a snapshot without a manifest is its own record of work left, so start-up queues every such
// snapshot again (including those taken before manifests existed), after a delay and one at a time. Export,
// verify and the compatibility check wait for a running job or build the manifest then and there (ensure()).
import { join } from "node:path";
import { writeFileAtomic } from "../../fs/atomic.ts";
import { probeHostCpu, type HostCpu } from "../../hv/host-cpu.ts";
import type { ImagesRepo } from "../../store/images-repo.ts";
import { GUEST_FILES, SNAPSHOT_GUEST_DIR } from "../../store/payload/layout.ts";
import {
  buildManifest,
  hashPayloadFiles,
  imageContentHash,
  manifestJson,
  manifestPath,
  payloadFiles,
  readManifest,
  readRequirements,
  type Manifest,
  type ManifestFacts,
  type ParsedRequirements,
} from "../../store/payload/manifest.ts";
import { memoryFileForms } from "../../store/payload/memory-forms.ts";
import { readInstanceRecord } from "../../store/payload/instance-record.ts";
import type { DataPaths } from "../../store/paths.ts";
import type { ImageRow } from "../../store/schema.ts";
import type { SnapshotsRepo } from "../../store/snapshots-repo.ts";
import { invalidState } from "../errors.ts";
import { generationBooting } from "../images/generations.ts";
import type { Logger } from "../service/logger.ts";

/** A job that met a memory file being compressed under it (renamed away mid-read) starts over, this many times. */
const JOB_ATTEMPTS = 3;

export interface ManifestJobView {
  state: "pending" | "running" | "done" | "error";
  bytesDone: number;
  bytesTotal: number;
  error: string | null;
}

export interface ManifestJobsDeps {
  paths: DataPaths;
  snapshots: SnapshotsRepo;
  images: ImagesRepo;
  logger: Logger;
  clock: () => Date;
  hostCpu?: () => HostCpu;
  /**
   * False while a lifecycle operation runs. A job nobody waits for pauses between chunks until it is true: a
   * snapshot is most often forked or restored right after it is taken, and hashing all its memory on the server's
   * thread would compete with those for the host's CPUs (a fork of a 1 GiB snapshot took 2x as long).
   */
  idle?: () => boolean;
}

/** How often a paused background job looks whether the operations it gives way to have ended. */
const PACE_POLL_MS = 20;

interface Job {
  view: ManifestJobView;
  /** Someone waits for it (ensure()): it no longer gives way. */
  urgent: boolean;
  abort: AbortController;
  done: Promise<Manifest>;
  /** Lets a pending job run (from the queue, or at once for a caller waiting on it); idempotent. */
  start: () => void;
}

/** Jobs hashing at once: one, so a restart with many unhashed snapshots does not crowd out the guests' work. */
const JOBS_AT_ONCE = 1;
/** Snapshots found unhashed at start-up wait this long (a restart serves its guests first); one asked for starts at once. */
const BACKLOG_DELAY_MS = 30_000;

export class ManifestJobs {
  private readonly jobs = new Map<string, Job>();
  /** Snapshots whose job waits for a turn, oldest first. */
  private readonly queue: string[] = [];
  private running = 0;
  private backlogTimer?: ReturnType<typeof setTimeout>;
  /** Image content hashes by name, valid while the image's files keep their size and mtime. */
  private readonly imageHashes = new Map<string, { stamp: string; hash: Promise<string> }>();
  private cpu?: HostCpu;

  constructor(private readonly deps: ManifestJobsDeps) {}

  /** Queues hashing `snapshotId` unless a job for it is already waiting or running. */
  schedule(snapshotId: string): void {
    if (this.add(snapshotId)) this.queue.push(snapshotId);
    this.next();
  }

  /** A pending job for `snapshotId`, outside any queue; false when one is already waiting or running. */
  private add(snapshotId: string): boolean {
    if (this.active(snapshotId)) return false;
    const turn = Promise.withResolvers<void>();
    const job: Job = {
      view: { state: "pending", bytesDone: 0, bytesTotal: 0, error: null },
      urgent: false,
      abort: new AbortController(),
      done: turn.promise.then(() => this.run(snapshotId, job)),
      start: () => turn.resolve(),
    };
    job.done.catch(() => {}); // the outcome is in the view; waiters get it from ensure()
    this.jobs.set(snapshotId, job);
    return true;
  }

  /** The job of `snapshotId`: running, or how the last one ended; "done" when the manifest is on disk. */
  async view(snapshotId: string): Promise<ManifestJobView | undefined> {
    const job = this.jobs.get(snapshotId);
    if (job) return { ...job.view };
    const stored = await readManifest(this.deps.paths.snapshot(snapshotId)).catch(() => undefined);
    if (stored?.kind !== "current") return undefined;
    const total = stored.manifest.files.reduce((sum, f) => sum + f.size, 0);
    return { state: "done", bytesDone: total, bytesTotal: total, error: null };
  }

  /**
   * The manifest of `snapshotId`, up to date with its memory's stored form: the one on disk, the running job's,
   * or one built now. A memory file compressed or decompressed since (another name) is hashed again; any other
   * change is what verify reports.
   */
  async ensure(snapshotId: string): Promise<Manifest> {
    const waiting = this.active(snapshotId);
    if (waiting) {
      // A caller waits for it: its turn is now, and it gives way no more (the caller may hold a lock itself).
      waiting.urgent = true;
      waiting.start();
      return waiting.done;
    }
    const dir = this.deps.paths.snapshot(snapshotId);
    const stored = await readManifest(dir);
    if (stored?.kind === "newer") throw invalidState(`snapshot ${snapshotId} has a manifest of format ${stored.formatVersion}, newer than this server reads`);
    if (!stored) {
      this.schedule(snapshotId);
      return this.ensure(snapshotId);
    }
    return this.refreshMemoryEntries(dir, stored.manifest);
  }

  /** The stored manifest without waiting for hashes: its requirements, or those read from the records now. */
  async requirements(snapshotId: string): Promise<ParsedRequirements> {
    const dir = this.deps.paths.snapshot(snapshotId);
    const stored = await readManifest(dir);
    if (stored) return stored;
    const row = this.deps.snapshots.get(snapshotId);
    return { kind: "current", manifest: await readRequirements(dir, await this.facts(dir, row?.storedMetadata.image)) };
  }

  /** This host's CPU as manifests record it (probed once). */
  hostCpu(): HostCpu {
    this.cpu ??= (this.deps.hostCpu ?? probeHostCpu)();
    return this.cpu;
  }

  /** The content hash of the registered image `image`, computed once per version of its files. */
  async imageHash(image: ImageRow): Promise<string> {
    const files = [image.kernel, image.initrd, image.rootfs].filter((p): p is string => p !== null);
    const stamps = await Promise.all(files.map(async (p) => Bun.file(p).stat().then((s) => `${p}:${s.size}:${s.mtimeMs}`, () => `${p}:gone`)));
    const stamp = `${stamps.join("|")}|${image.cmdline}`;
    const cached = this.imageHashes.get(image.name);
    if (cached?.stamp === stamp) return cached.hash;
    const hash = imageContentHash(image);
    this.imageHashes.set(image.name, { stamp, hash });
    hash.catch(() => this.imageHashes.delete(image.name));
    return hash;
  }

  /** At start-up: every stored snapshot without a manifest is hashed. */
  async resumeAfterRestart(): Promise<void> {
    const backlog: string[] = [];
    for (const row of this.deps.snapshots.all()) {
      if (row.rowState !== "ready") continue;
      if (!(await Bun.file(manifestPath(this.deps.paths.snapshot(row.id))).exists()) && this.add(row.id)) backlog.push(row.id);
    }
    if (backlog.length === 0) return;
    this.backlogTimer = setTimeout(() => {
      this.queue.push(...backlog);
      this.next();
    }, BACKLOG_DELAY_MS);
    this.backlogTimer.unref();
  }

  /** Stops every job (their snapshots, still without a manifest, are queued again at the next start). */
  async stopAll(): Promise<void> {
    clearTimeout(this.backlogTimer);
    const jobs = [...this.jobs.keys()].flatMap((id) => this.active(id) ?? []);
    this.queue.length = 0;
    for (const job of jobs) {
      job.abort.abort(new Error("service stopping"));
      job.start();
    }
    await Promise.allSettled(jobs.map((j) => j.done));
  }

  /** A snapshot being deleted: its job stops first. */
  async cancel(snapshotId: string): Promise<void> {
    const job = this.active(snapshotId);
    if (job) {
      job.abort.abort(new Error("snapshot deleted"));
      job.start();
      await job.done.catch(() => {});
    }
    this.jobs.delete(snapshotId);
  }

  /** The job of `snapshotId` if it is waiting or running. */
  private active(snapshotId: string): Job | undefined {
    const job = this.jobs.get(snapshotId);
    return job?.view.state === "pending" || job?.view.state === "running" ? job : undefined;
  }

  /** Gives queued jobs their turn while fewer than JOBS_AT_ONCE run. */
  private next(): void {
    while (this.running < JOBS_AT_ONCE && this.queue.length > 0) {
      const job = this.active(this.queue.shift()!);
      if (!job) continue;
      this.running++;
      job.start();
      void job.done.catch(() => {}).finally(() => {
        this.running--;
        this.next();
      });
    }
  }

  private async facts(dir: string, imageName: string | undefined): Promise<ManifestFacts> {
    // The generation of the image the snapshot boots: after a rebuild of the image, an older one (generations.ts).
    const config = await readInstanceRecord(join(dir, SNAPSHOT_GUEST_DIR)).then((r) => r.config, () => ({}));
    const image = imageName === undefined ? undefined : generationBooting(this.deps.images, imageName, config);
    // An image unknown here cannot be hashed: the all-zero hash matches no image, so an importer reports it missing.
    const imageContentHash = image ? await this.imageHash(image) : "0".repeat(64);
    return { hostCpu: this.hostCpu(), imageContentHash, createdAt: this.deps.clock() };
  }

  private async run(snapshotId: string, job: Job): Promise<Manifest> {
    const dir = this.deps.paths.snapshot(snapshotId);
    const signal = job.abort.signal;
    job.view.state = "running";
    try {
      signal.throwIfAborted();
      for (let attempt = 1; ; attempt++) {
        try {
          const row = this.deps.snapshots.get(snapshotId);
          const manifest = await buildManifest(dir, await this.facts(dir, row?.storedMetadata.image), {
            signal,
            pace: async () => {
              while (!job.urgent && !signal.aborted && this.deps.idle?.() === false) await Bun.sleep(PACE_POLL_MS);
            },
            onProgress: (done, total) => Object.assign(job.view, { bytesDone: done, bytesTotal: total }),
          });
          await writeFileAtomic(manifestPath(dir), manifestJson(manifest));
          job.view.state = "done";
          return manifest;
        } catch (err) {
          if (signal.aborted || attempt >= JOB_ATTEMPTS || (err as { code?: string }).code !== "ENOENT") throw err;
        }
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      job.view = { ...job.view, state: "error", error: message };
      if (!signal.aborted) this.deps.logger.warn("snapshot manifest not written", { snapshot: snapshotId, error: message });
      throw err;
    }
  }

  /** Rehashes the memory files of `manifest` when their stored form changed since (compression or its undoing). */
  private async refreshMemoryEntries(dir: string, manifest: Manifest): Promise<Manifest> {
    const standby = `${SNAPSHOT_GUEST_DIR}/${GUEST_FILES.standbyDir}`;
    const forms = new Set(manifest.memory.file ? memoryFileForms(`${standby}/${manifest.memory.file}`) : []);
    const isMemory = (path: string) => forms.has(path);
    const now = (await payloadFiles(dir)).filter((f) => isMemory(f.path));
    const recorded = manifest.files.filter((f) => isMemory(f.path));
    // Only a changed name is a new form; a changed size under the same name is damage, for verify to report.
    const same = now.length === recorded.length && now.every((f, i) => f.path === recorded[i]!.path);
    if (same) return manifest;
    const fresh = await hashPayloadFiles(dir, now);
    const files = [...manifest.files.filter((f) => !isMemory(f.path)), ...fresh].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const updated = { ...manifest, files };
    await writeFileAtomic(manifestPath(dir), manifestJson(updated));
    return updated;
  }
}
