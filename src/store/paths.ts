// The only module that knows the data-dir layout and the only one that lets an id become a path.
//
// <data>/
//   snapvisor.db                       SQLite (WAL): images, instances, snapshots, schedules, jobs, forks
//   auth-token                         bearer token for TCP listeners (created on first TCP start)
//   snapvisor.sock                     default API socket
//   images/<image>/                    kernel, initrd, optional rootfs disk
//   images/<image>@<hash>/             a later build of <image> with other contents (core/images/generations.ts)
//   image-sources/                     an operator's files to register with POST /images (never indexed or moved)
//   guests/<instanceId>/               a payload dir (payload/layout.ts): disk, records, logs, sockets, standby/
//   snapshots/<snapshotId>/            snapshot.json + guest/, a copy of the guest dir at capture time
//   quarantine/<kind>-<id>-<time>/     payload dirs start-up could not read, moved aside (never deleted)
//   tmp/<uuid>/                        staging for atomic creation (same filesystem as everything above)
//   pulls/<transferId>/                a pull's files so far: kept across a restart, whose rerun reuses its chunks
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** Ids: 24-char lowercase alphanumerics starting with a letter (cuid2); also accepts shorter test ids. */
const ID_PATTERN = /^[a-z][a-z0-9]{0,62}$/;
/** Instance, snapshot and image names (and schedule name prefixes): the one definition request schemas use too. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const MAX_NAME_LENGTH = 63;

const PRIVATE_DIR_MODE = 0o700;

/** Unix sockets paths are limited to 107 bytes + NUL (sun_path). */
export const MAX_SOCKET_PATH = 107;
/** The longest socket name a driver puts in a guest dir (QEMU agent.sock, CH/FC api.sock are shorter). */
const LONGEST_SOCKET_NAME = "agent.sock";

/** True when `value` can be a single path component naming a stored object. Anything else is "not found". */
export function isSafeId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function isSafeName(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(value);
}

/** A generation of an image: its name and the first hex digits of its content hash. */
const GENERATION_SUFFIX = /@[0-9a-f]{12}$/;

/** An image dir's name: an image name, or one with a generation suffix (`default@0aa524c06af2`). */
export function isImageDirName(value: string): boolean {
  return isSafeName(value.replace(GENERATION_SUFFIX, ""));
}

export class DataPaths {
  constructor(readonly root: string) {}

  /** Creates the top-level dirs, 0700 even when they already existed (guests' memory and disks are private to
   * the service user; mkdir's mode applies only to a dir it creates). Refuses a root so long that a guest's
   * control sockets would not fit in sun_path. */
  ensure(): void {
    const longest = join(this.guestsDir, "x".repeat(24), LONGEST_SOCKET_NAME);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
      throw new UnsafePathError(`data dir ${this.root} is too long: guest sockets would exceed ${MAX_SOCKET_PATH} bytes`);
    }
    for (const dir of [this.root, this.imagesDir, this.guestsDir, this.snapshotsDir, this.tmpDir]) {
      mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      chmodSync(dir, PRIVATE_DIR_MODE);
    }
  }

  get db(): string {
    return join(this.root, "snapvisor.db");
  }
  get socket(): string {
    return join(this.root, "snapvisor.sock");
  }
  get authToken(): string {
    return join(this.root, "auth-token");
  }
  get imagesDir(): string {
    return join(this.root, "images");
  }
  /** A default image root that start-up leaves alone (everything in images/ is a registered image's payload). */
  get imageSourcesDir(): string {
    return join(this.root, "image-sources");
  }
  get guestsDir(): string {
    return join(this.root, "guests");
  }
  get snapshotsDir(): string {
    return join(this.root, "snapshots");
  }
  get tmpDir(): string {
    return join(this.root, "tmp");
  }
  /** Pulls under way (not in tmp/: start-up clears that, and a pull run again reuses what it holds). */
  get pullsDir(): string {
    return join(this.root, "pulls");
  }
  /** Payload dirs start-up could not read, moved aside for a human (never deleted). */
  get quarantineDir(): string {
    return join(this.root, "quarantine");
  }

  image(name: string): string {
    return join(this.imagesDir, checked(name, isSafeName, "image name"));
  }
  /** The dir of a later build of an image, named as its generation (`default@0aa524c06af2`). */
  imageGeneration(generation: string): string {
    return join(this.imagesDir, checked(generation, (v) => GENERATION_SUFFIX.test(v) && isImageDirName(v), "image generation"));
  }
  guest(id: string): string {
    return join(this.guestsDir, checked(id, isSafeId, "instance id"));
  }
  snapshot(id: string): string {
    return join(this.snapshotsDir, checked(id, isSafeId, "snapshot id"));
  }
  /** The payload dir of a snapshot: a copy of the guest dir at capture time. */
  snapshotGuest(id: string): string {
    return join(this.snapshot(id), "guest");
  }
  /** Where a payload dir that could not be read goes: `<kind>-<name>-<time>`, any character outside [a-z0-9-] as `_`. */
  quarantine(kind: QuarantineKind, name: string, at: Date): string {
    const time = at.toISOString().replace(/[-:.]/g, "").toLowerCase();
    return join(this.quarantineDir, `${kind}-${name.replace(/[^a-z0-9-]/g, "_").slice(0, 64)}-${time}`);
  }
  pullStaging(transferId: string): string {
    return join(this.pullsDir, checked(transferId, isSafeId, "transfer id"));
  }
  staging(token: string): string {
    return join(this.tmpDir, checked(token, (t) => /^[a-z0-9-]{1,64}$/.test(t), "staging token"));
  }
}

export type QuarantineKind = "image" | "instance" | "snapshot";

export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
}

function checked(value: string, ok: (v: string) => boolean, what: string): string {
  if (!ok(value)) throw new UnsafePathError(`invalid ${what}: ${JSON.stringify(value)}`);
  return value;
}
