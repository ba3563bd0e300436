// Wake on request: the first request for a Standby target starts ONE restore that every later request shares;
// requests wait in a bounded per-instance queue and are answered 503 + Retry-After when it is full or when the
// wait timeout passes (the restore goes on, for the next request). A request that meets a standby under way
// queues behind it on the instance lock, then wakes the guest. A Stopped target is started only when the rule
// says `wake_stopped`. Requests then reach the guest a bounded number at a time (upstream-limiter.ts).
import type { CoreContext } from "../service/context.ts";
import { UnavailableError } from "../errors.ts";
import { restoreInstance } from "../instances/restore.ts";
import { startInstance } from "../instances/start.ts";
import { loadInstance } from "../instances/view.ts";
import { waitForGuestListener, waitForPort } from "./port-probe.ts";
import { upstreamOf, type Upstream } from "./upstream.ts";
import { UpstreamLimiter } from "./upstream-limiter.ts";

export interface WakeConfig {
  /** Requests one instance may hold waiting for its wake; the next is answered 503 at once. */
  queueLimit: number;
  /** How long a request waits for its target before a 503. */
  waitTimeoutMs: number;
  /** Retry-After of those 503s. */
  retryAfterSeconds: number;
  /** Requests one guest is sent at once that have not started answering. */
  upstreamConcurrency: number;
}

/** Where to send one request, and the slot it holds until its answer starts (or the attempt fails). */
export interface Admission {
  upstream: Upstream;
  answered: () => void;
}

export interface WakeTarget {
  instanceId: string;
  port: number;
  wakeStopped: boolean;
}

export class WakeCoordinator {
  private readonly wakes = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();
  private readonly limiters = new Map<string, UpstreamLimiter>();
  /** Each live VMM's upstream per guest port: its forwards and address are fixed while it runs, so a warm request
   * reads no rows to find them. */
  private readonly upstreams = new WeakMap<object, Map<number, Upstream>>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly config: WakeConfig,
  ) {}

  /** `upstream`, then one of the instance's upstream slots. */
  async admit(target: WakeTarget): Promise<Admission> {
    // The wait for a wake is bounded by the wake queue; only a request for a serving guest queues for a slot.
    await this.upstream(target);
    const { instanceId } = target;
    const limiter = this.limiters.get(instanceId) ?? new UpstreamLimiter(this.config.upstreamConcurrency);
    this.limiters.set(instanceId, limiter);
    const free = await limiter.acquire();
    const answered = () => {
      free();
      if (limiter.idle && this.limiters.get(instanceId) === limiter) this.limiters.delete(instanceId);
    };
    try {
      // Asked again: the guest may have gone to standby while this request waited for its slot.
      return { upstream: await this.upstream(target), answered };
    } catch (err) {
      answered();
      throw err;
    }
  }

  /** Where to send a request for `target` once it serves; waits (bounded) for a wake when it does not yet. */
  async upstream(target: WakeTarget): Promise<Upstream> {
    const { instanceId, port } = target;
    // Fast path: a ready VM that no lifecycle operation (a standby) is touching.
    const live = this.ctx.vms.get(instanceId);
    if (live?.ready && !this.ctx.locks.busy(instanceId)) return this.upstreamOfVm(live, instanceId, port);
    const held = this.waiting.get(instanceId) ?? 0;
    if (held >= this.config.queueLimit) {
      this.ctx.metrics.ingressWaitTimeouts.inc({ reason: "queue_full" });
      throw this.unavailable(`instance is waking and ${held} requests already wait for it`, "wake_queue_full");
    }
    this.waiting.set(instanceId, held + 1);
    this.ctx.metrics.ingressHeldRequests.inc();
    let timer: Timer | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.ctx.metrics.ingressWaitTimeouts.inc({ reason: "timeout" });
          reject(this.unavailable(`instance did not start serving within ${this.config.waitTimeoutMs} ms`, "wake_timeout"));
        }, this.config.waitTimeoutMs);
      });
      await Promise.race([this.wake(target), timeout]);
      return upstreamOf(this.ctx, instanceId, port);
    } finally {
      clearTimeout(timer);
      this.ctx.metrics.ingressHeldRequests.dec();
      const left = (this.waiting.get(instanceId) ?? 1) - 1;
      if (left === 0) this.waiting.delete(instanceId);
      else this.waiting.set(instanceId, left);
    }
  }

  private upstreamOfVm(live: object, instanceId: string, port: number): Upstream {
    let ports = this.upstreams.get(live);
    if (!ports) this.upstreams.set(live, (ports = new Map()));
    let to = ports.get(port);
    if (!to) ports.set(port, (to = upstreamOf(this.ctx, instanceId, port)));
    return to;
  }

  /** Requests waiting for `instanceId` now. */
  held(instanceId: string): number {
    return this.waiting.get(instanceId) ?? 0;
  }

  private wake(target: WakeTarget): Promise<void> {
    const running = this.wakes.get(target.instanceId);
    if (running) return running;
    const wake = this.wakeOnce(target).finally(() => this.wakes.delete(target.instanceId));
    // A request that timed out leaves the wake running; its failure is then only logged.
    wake.catch((err) => {
      this.ctx.metrics.ingressWakes.inc({ result: "failed" });
      this.ctx.logger.warn("ingress wake failed", { instance: target.instanceId, error: String(err) });
    });
    this.wakes.set(target.instanceId, wake);
    return wake;
  }

  private async wakeOnce({ instanceId, port, wakeStopped }: WakeTarget): Promise<void> {
    const started = performance.now();
    const view = await loadInstance(this.ctx, instanceId);
    let woke = view.state === "Standby";
    if (view.state === "Stopped") {
      if (!wakeStopped) throw this.unavailable(`instance ${view.name} is Stopped (the rule does not start stopped instances: wake_stopped)`, "instance_stopped");
      await startInstance(this.ctx, instanceId);
      woke = true;
    } else {
      // Standby: restore it. Live but locked (a standby under way): queue behind it; restore answers at once
      // when the guest is still live afterwards, and restores when the standby completed.
      const after = await restoreInstance(this.ctx, instanceId);
      woke ||= after.state === "Running" && view.state !== "Running";
    }
    const to = upstreamOf(this.ctx, instanceId, port);
    const deadline = Date.now() + this.config.waitTimeoutMs;
    // A cold boot's server may not listen yet, and a user-mode forward accepts regardless; a restored guest's
    // listeners were restored with it (its agent answered before restore returned).
    const askGuest = view.state === "Stopped" && this.ctx.config.network.mode === "user" && !view.skipGuestAgent;
    const listening = askGuest ? await waitForGuestListener(this.ctx, instanceId, port, deadline) : await waitForPort(to, deadline);
    if (!listening) {
      throw this.unavailable(`instance ${view.name} runs but its port ${port} does not accept connections`, "port_closed");
    }
    if (woke) {
      this.ctx.metrics.ingressWakes.inc({ result: "success" });
      this.ctx.metrics.ingressWakeDuration.observe((performance.now() - started) / 1000);
    }
  }

  private unavailable(message: string, code: string): UnavailableError {
    return new UnavailableError(message, code, this.config.retryAfterSeconds);
  }
}
