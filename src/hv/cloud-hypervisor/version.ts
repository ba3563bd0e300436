// What a Cloud Hypervisor binary is. Its version decides which RestoreConfig fields it understands (CH drops
// unknown fields silently, so `resume` sent to v51 is lost and the VM stays paused: hypervisor-apis.md §1.7) and
// which snapshots it can restore (`state.json` is serde of internal structs with no compatibility promise: only
// the version that wrote a snapshot restores it, §1.10).

export interface ChVersion {
  major: number;
  minor: number;
  /** "53.0" or "51.1": what SavedVm.version records. */
  text: string;
}

/** `resume` and `memory_restore_mode` on vm.restore appeared in v52.0. */
export const RESTORE_RESUME_SINCE_MAJOR = 52;

/** `cloud-hypervisor --version` prints `cloud-hypervisor v53.0` (builds from git add `-246-gae44c29`). */
export function parseChVersion(output: string): ChVersion | null {
  const match = /\bv?(\d+)\.(\d+)/.exec(output);
  if (!match) return null;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return { major, minor, text: `${major}.${minor}` };
}

export function supportsRestoreResume(v: ChVersion): boolean {
  return v.major >= RESTORE_RESUME_SINCE_MAJOR;
}

/** Why this binary cannot restore a snapshot written by `savedVersion`, or null. */
export function restoreRefusal(savedVersion: string, host: ChVersion): string | null {
  if (savedVersion === host.text) return null;
  return `snapshot was written by cloud-hypervisor ${savedVersion}; this host runs ${host.text} and CH restores only snapshots of its own version`;
}
