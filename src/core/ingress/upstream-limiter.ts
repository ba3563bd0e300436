// Requests sent to one guest at once that have not started answering are capped (ingress.upstreamConcurrency);
// the others wait here, in arrival order. A guest's server queues the connections it has not accepted yet only up
// to its listen backlog (busybox httpd: 9). Past it the guest drops the handshakes silently and user-mode
// networking recovers them only by TCP retransmission, seconds later: the ingress load test, which sends 20
// requests at once to a guest that has just been woken (its code cold under TCG), measured stalls past 10 s while
// the guest counted ListenOverflows. With the cap, the burst waits in the proxy instead.
export class UpstreamLimiter {
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Waits for a slot; the returned function frees it once the request's answer started or its attempt failed
   * (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.inFlight++;
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      // A waiter takes over the freed slot as it is; only when none waits does the count fall.
      const next = this.queue.shift();
      if (next) next();
      else this.inFlight--;
    };
  }

  /** Nothing in flight and nothing waiting. */
  get idle(): boolean {
    return this.inFlight === 0 && this.queue.length === 0;
  }
}
