// The schedule loop (reference §5.3–5.4): a croner job ticks, due schedules run one after another, one failure
// never stops the others, errors are aggregated and logged. Started by the service's start(), stopped by stop().
import { Cron } from "croner";
import type { CoreContext } from "../service/context.ts";
import { DomainError, internal } from "../errors.ts";
import { instanceState } from "../instances/view.ts";
import { applyRetention, retentionConverged } from "./retention.ts";
import { runAfter } from "./cadence.ts";
import { DEFAULT_NAME_PREFIX, SCHEDULE_INSTANCE_TAG, SCHEDULED_TAG, type Schedule } from "./schedules.ts";
import { createSnapshot } from "../snapshots/create.ts";

export class ScheduleRunner {
  private cron: Cron | undefined;
  private stopping = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly tickMs: number,
  ) {}

  start(): void {
    if (this.cron) return;
    this.stopping = false;
    const seconds = Math.max(1, Math.round(this.tickMs / 1000));
    // First tick one interval after start (no immediate run); `protect` skips a tick while a run is in flight.
    this.cron = new Cron(
      "* * * * * *",
      { interval: seconds, protect: true, startAt: new Date(this.ctx.clock().getTime() + seconds * 1000).toISOString() },
      async () => {
        const errors = await this.runDue();
        if (errors.length) this.ctx.logger.error("scheduled snapshots failed", { errors });
      },
    );
  }

  /** Stops the loop; a run in flight finishes its current schedule and stops before the next. */
  stop(): void {
    this.stopping = true;
    this.cron?.stop();
    this.cron = undefined;
  }

  /** Runs every due schedule; returns one message per failed schedule (all are attempted). */
  async runDue(): Promise<string[]> {
    const errors: string[] = [];
    for (const schedule of this.ctx.schedules.all()) {
      if (this.stopping) {
        errors.push("schedule loop stopped: remaining schedules not run");
        break;
      }
      if (this.ctx.clock() < schedule.nextRunAt) continue;
      try {
        await this.ctx.locks.run(`schedule:${schedule.instanceId}`, () => this.runOne(schedule.instanceId));
      } catch (err) {
        errors.push(`instance ${schedule.instanceId}: ${err instanceof Error ? err.message : err}`);
      }
    }
    return errors;
  }

  private async runOne(instanceId: string): Promise<void> {
    const ctx = this.ctx;
    const current = ctx.schedules.get(instanceId);
    const now = ctx.clock();
    if (!current || now < current.nextRunAt) return; // re-checked under the lock
    // 1. Advance the cadence first, strictly into the future, without backfilling missed runs.
    const schedule: Schedule = {
      ...current,
      nextRunAt: runAfter(current, current.nextRunAt, now),
      lastRunAt: now,
      lastSnapshotId: null,
      lastError: null,
      updatedAt: now,
    };
    ctx.schedules.put(schedule);
    const fail = (message: string) => {
      ctx.schedules.put({ ...schedule, lastError: message });
      return internal(message);
    };

    // 2. Take the snapshot, its kind chosen by the instance's state.
    const row = ctx.instances.get(instanceId);
    const instance = row?.rowState === "deleting" ? undefined : row;
    if (instance) {
      const { state } = await instanceState(ctx, instance);
      const kind = state === "Stopped" ? "Stopped" : state === "Running" || state === "Initializing" || state === "Standby" ? "Standby" : undefined;
      if (!kind) {
        throw fail(`invalid state transition: scheduled snapshot requires source in Running, Standby, or Stopped, got ${state}`);
      }
      try {
        const snap = await createSnapshot(ctx, instanceId, {
          kind,
          name: `${schedule.namePrefix ?? DEFAULT_NAME_PREFIX}-${timestamp(now)}`,
          tags: { ...schedule.metadata, [SCHEDULED_TAG]: "true", [SCHEDULE_INSTANCE_TAG]: instanceId },
          scheduleId: instanceId,
        });
        schedule.lastSnapshotId = snap.id;
        ctx.schedules.put(schedule);
      } catch (err) {
        throw fail(`create scheduled snapshot: ${err instanceof DomainError || err instanceof Error ? err.message : err}`);
      }
    }

    // 3. Retention, also once the instance is gone.
    const errors = await applyRetention(ctx, schedule, now);
    if (errors.length) throw fail(errors.join("; "));

    // 4. A schedule of a deleted instance disappears once retention can delete nothing more.
    if (!instance && retentionConverged(ctx, schedule, now)) ctx.schedules.remove(instanceId);
  }
}

/** `YYYYMMDD-HHMMSS` in UTC. */
function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
