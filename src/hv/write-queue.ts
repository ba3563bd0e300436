// Ordered writes to a Bun socket without losing bytes: `socket.write()` takes what fits in the kernel buffer and
// returns how much it took; the rest must be written again once the socket drains, or it is gone.

export class WriteQueue {
  private pending: Uint8Array[] = [];
  private queued = 0;
  private waiters: { limit: number; resolve: () => void }[] = [];

  constructor(private readonly write: (bytes: Uint8Array) => number) {}

  /** Queues a copy of `bytes` (the caller may reuse its buffer) and writes what the socket takes now. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes.slice());
    this.queued += bytes.length;
    this.flush();
  }

  /** Writes what the socket takes now; call it again from the socket's `drain` handler. */
  flush(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const written = this.write(head);
      if (written < head.length) {
        this.pending[0] = head.subarray(Math.max(0, written));
        this.queued -= Math.max(0, written);
        break;
      }
      this.pending.shift();
      this.queued -= head.length;
    }
    this.wake();
  }

  /** Bytes accepted by `push` that the socket has not taken yet. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Resolves once at most `limit` bytes are queued: a producer awaits it so the queue stays bounded. */
  below(limit: number): Promise<void> {
    if (this.queued <= limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ limit, resolve }));
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.queued <= w.limit);
    this.waiters = this.waiters.filter((w) => this.queued > w.limit);
    for (const w of ready) w.resolve();
  }

  /** Drops what is still queued (the peer went away). */
  clear(): void {
    this.pending = [];
    this.queued = 0;
    this.wake();
  }
}
