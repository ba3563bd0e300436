// What keeps a guest awake: open ingress connections and in-flight requests (counted in the proxy), and exec,
// file copies and mailbox deliveries (counted where core runs them). The auto-standby controller listens for the
// moments an instance becomes idle or busy; its last check before a standby reads `active()` under the lock.
export type ActivityKind = "request" | "connection" | "exec" | "file" | "mailbox";

type Listener = (instanceId: string, active: number) => void;

export class ActivityTracker {
  private readonly counts = new Map<string, number>();
  private readonly lastAt = new Map<string, Date>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly clock: () => Date) {}

  /** Marks one unit of activity; the returned function ends it (calling it again does nothing). */
  begin(instanceId: string, _kind: ActivityKind): () => void {
    this.bump(instanceId, 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.bump(instanceId, -1);
    };
  }

  /** Runs `fn` as one unit of activity. */
  async during<T>(instanceId: string, kind: ActivityKind, fn: () => Promise<T>): Promise<T> {
    const end = this.begin(instanceId, kind);
    try {
      return await fn();
    } finally {
      end();
    }
  }

  active(instanceId: string): number {
    return this.counts.get(instanceId) ?? 0;
  }

  lastActivityAt(instanceId: string): Date | undefined {
    return this.lastAt.get(instanceId);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bump(instanceId: string, by: number): void {
    const n = this.active(instanceId) + by;
    if (n === 0) this.counts.delete(instanceId);
    else this.counts.set(instanceId, n);
    this.lastAt.set(instanceId, this.clock());
    for (const listener of this.listeners) listener(instanceId, n);
  }
}

/** `source`, calling `end` once it is exhausted, fails or is abandoned by its reader. */
export async function* endingWith<T>(source: AsyncGenerator<T>, end: () => void): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    end();
  }
}
