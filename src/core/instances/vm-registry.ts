// The live VMM of each instance. A VMM that exits on its own (guest crash, kill from outside) is dropped and its
// row updated, so the derived state falls back to Stopped/Standby without anyone polling.
import type { RunningVm } from "../../hv/hypervisor.ts";
import type { InstancesRepo } from "../../store/instances-repo.ts";
import type { Logger } from "../service/logger.ts";

interface LiveVm {
  vm: RunningVm;
  /** The guest agent answered since this VMM started (Running rather than Initializing). */
  ready: boolean;
}

export class VmRegistry {
  private readonly live = new Map<string, LiveVm>();

  constructor(
    private readonly instances: InstancesRepo,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  get(id: string): LiveVm | undefined {
    return this.live.get(id);
  }

  track(id: string, vm: RunningVm, ready: boolean): void {
    const entry = { vm, ready };
    this.live.set(id, entry);
    void vm.exited.then((code) => {
      if (this.live.get(id) !== entry) return;
      this.live.delete(id);
      this.logger.info("vmm exited", { instance: id, code });
      if (this.instances.get(id)) this.instances.update(id, { pid: null, stoppedAt: this.clock() });
    });
  }

  /** The guest agent answered: a state error left by an earlier failed adoption no longer holds. */
  markReady(id: string): void {
    const entry = this.live.get(id);
    if (!entry) return;
    entry.ready = true;
    const row = this.instances.get(id);
    if (row?.rowState === "ready" && row.stateError !== null) this.instances.update(id, { stateError: null });
  }

  /** Forgets the VMM before an operation ends it on purpose (the operation records the outcome itself). */
  release(id: string): RunningVm | undefined {
    const entry = this.live.get(id);
    this.live.delete(id);
    return entry?.vm;
  }

  ids(): string[] {
    return [...this.live.keys()];
  }
}
