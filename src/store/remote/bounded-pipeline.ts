// At most `width` promises in flight, results taken in the order they were started: a transfer overlaps its
// requests without holding more than `width` chunks in memory, and consumes them in file order.
export class BoundedPipeline<T> {
  private readonly inFlight: Promise<T>[] = [];

  constructor(private readonly width: number) {}

  /** Starts `work`; when `width` are in flight, first waits for the oldest and returns its result. */
  async push(work: () => Promise<T>): Promise<T[]> {
    const done = this.inFlight.length >= this.width ? [await this.inFlight.shift()!] : [];
    const started = work();
    started.catch(() => {}); // awaited in order by push/drain; an early rejection must not count as unhandled
    this.inFlight.push(started);
    return done;
  }

  /** Waits for everything still in flight, in start order. */
  async drain(): Promise<T[]> {
    const out: T[] = [];
    while (this.inFlight.length > 0) out.push(await this.inFlight.shift()!);
    return out;
  }
}
