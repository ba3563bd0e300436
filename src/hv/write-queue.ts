// Ordered writes to a Bun socket without losing bytes: `socket.write()` takes what fits in the kernel buffer and
// returns how much it took; the rest must be written again once the socket drains, or it is gone.

export class WriteQueue {
  private pending: Uint8Array[] = [];

  constructor(private readonly write: (bytes: Uint8Array) => number) {}

  /** Queues a copy of `bytes` (the caller may reuse its buffer) and writes what the socket takes now. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes.slice());
    this.flush();
  }

  /** Writes what the socket takes now; call it again from the socket's `drain` handler. */
  flush(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const written = this.write(head);
      if (written < head.length) {
        this.pending[0] = head.subarray(Math.max(0, written));
        return;
      }
      this.pending.shift();
    }
  }

  /** Drops what is still queued (the peer went away). */
  clear(): void {
    this.pending = [];
  }
}
