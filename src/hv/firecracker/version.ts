// What a Firecracker binary is: its release (recorded with every snapshot) and the snapshot data format it writes
// (`--snapshot-version`). Firecracker loads only snapshots of its own format major, and a newer minor of the same
// major reads older minors (docs snapshotting/versioning.md, hypervisor-apis.md §2.8). Release and format are
// what decide whether a snapshot can be loaded here.

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** "1.16.1" */
  text: string;
}

/** The first `X.Y.Z` in a binary's output (`Firecracker v1.16.1`, `v10.0.0`). */
export function parseSemVer(output: string): SemVer | null {
  const match = /\bv?(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) return null;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

export interface FcHost {
  release: SemVer;
  snapshotFormat: SemVer;
}

/** Why this binary cannot load a snapshot written by `savedRelease` in format `savedFormat`, or null. */
export function restoreRefusal(savedRelease: string, savedFormat: string | undefined, host: FcHost): string | null {
  const format = savedFormat === undefined ? null : parseSemVer(savedFormat);
  if (format === null) {
    // No format on record: only the very release that wrote it is known to load it.
    if (savedRelease === host.release.text) return null;
    return `snapshot was written by firecracker ${savedRelease} with no snapshot format on record; this host runs ${host.release.text}`;
  }
  const current = host.snapshotFormat;
  if (format.major === current.major && format.minor <= current.minor) return null;
  return `snapshot format ${format.text} (firecracker ${savedRelease}) cannot be loaded by firecracker ${host.release.text}, which reads format ${current.major}.x up to ${current.text}`;
}
