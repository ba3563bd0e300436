// POST /instances/{id}/stop: graceful power-off, then kill; Standby instances drop their standby files.
import type { CoreContext } from "./context.ts";
import { inStep } from "./errors.ts";
import { describeInstance, loadInstance, standbyDir, type InstanceView } from "./instance-view.ts";
import { assertTransition } from "./state-machine.ts";
import { removeTree } from "../store/atomic.ts";

export async function stopInstance(ctx: CoreContext, ref: string): Promise<InstanceView> {
  const { id } = await loadInstance(ctx, ref);
  return ctx.locks.run(id, async () => {
    const view = await loadInstance(ctx, id);
    if (view.state === "Stopped") return view;
    assertTransition(view.state, "Stopped", "stop");
    await haltInstance(ctx, id);
    return describeInstance(ctx, ctx.instances.get(id)!);
  });
}

/** Ends the VMM (gracefully, within the stop timeout) and discards standby files. Caller holds the lock. */
export async function haltInstance(ctx: CoreContext, id: string): Promise<void> {
  const vm = ctx.vms.release(id);
  if (vm) {
    await vm.shutdown(ctx.config.stopTimeoutMs).catch((err) => {
      throw inStep("stop VMM", err);
    });
  }
  await ctx.compression.cancel(`instance:${id}`, "stop_instance");
  await removeTree(standbyDir(ctx, id));
  ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
}
