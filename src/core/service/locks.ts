// Per-key async mutex: operations on one instance serialize, different instances run in parallel.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** True while an operation holds or waits for `key` (the ingress does not forward into a standby under way). */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** True when no operation holds or waits for any key. */
  get idle(): boolean {
    return this.tails.size === 0;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(fn);
    // The tail never rejects, so a failed operation does not make the next caller skip its turn.
    const tail = current.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
