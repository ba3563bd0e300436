// What happens when the service starts and stops, in order.
import type { ScheduleRunner } from "../schedules/schedule-runner.ts";
import type { CoreContext } from "./context.ts";
import { enterStandby } from "../instances/standby.ts";
import { ensureDefaultImage } from "../images/images.ts";
import { reconcileAtStartup } from "./startup-reconcile.ts";
import { reconcileLeases } from "../network/lease-reconcile.ts";

/** `scheduler` is absent when the config turns the schedule loop off. */
export async function startCore(ctx: CoreContext, scheduler?: ScheduleRunner): Promise<void> {
  await ctx.bridge?.setup(); // bridge mode: refuses to start on an unsafe host before any guest is touched
  await reconcileAtStartup(ctx);
  await reconcileLeases(ctx);
  ctx.paths.ensure(); // reconciliation empties tmp/ by removing it
  await ensureDefaultImage(ctx);
  await ctx.compression.resumeAfterRestart();
  await ctx.manifests.resumeAfterRestart();
  ctx.transfers.resumeAfterRestart();
  scheduler?.start();
}

/**
 * Nothing is left running and nothing is lost: pending compression is cancelled (raw memory kept, re-queued at
 * the next start) and every live VM is put into Standby, so the next start can restore it.
 */
export async function stopCore(ctx: CoreContext, scheduler?: ScheduleRunner): Promise<void> {
  scheduler?.stop();
  await ctx.compression.stopAll();
  await ctx.manifests.stopAll();
  await ctx.transfers.stopAll();
  await Promise.all(
    ctx.vms.ids().map((id) =>
      ctx.locks.run(id, async () => {
        if (!ctx.vms.get(id)) return;
        try {
          await enterStandby(ctx, id);
        } catch (err) {
          ctx.logger.error("standby at shutdown failed; killing the VMM", { instance: id, error: String(err) });
          await ctx.vms.release(id)?.kill();
          ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
        }
      }),
    ),
  );
}
