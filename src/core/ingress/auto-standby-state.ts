// What auto-standby remembers between ticks (in memory only, like the reference's holds): per live instance the
// start of its idle period and its hold, and the standbys under way. The decisions are in auto-standby.ts.
export interface AutoStandbyConfig {
  /** How often idle instances are looked at (the lateness of a standby past its deadline). */
  tickMs: number;
  /** Standbys run at once. */
  maxConcurrent: number;
}

export interface Tracked {
  /** Since when nothing was active; undefined while something is. */
  idleSince?: Date;
  holdUntil?: Date;
}

export class AutoStandbyState {
  readonly tracked = new Map<string, Tracked>();
  readonly inFlight = new Map<string, Promise<void>>();
  /** Standbys completed, and standbys called off by the last check under the lock. */
  readonly counts = { standbys: 0, cancelled: 0 };

  constructor(readonly config: AutoStandbyConfig) {}
}
