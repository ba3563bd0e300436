// Taking a consistent copy of an instance's guest dir, as snapshot capture and fork from an instance do. A running
// source is briefly put into Standby, copied, and resumed whatever happened to the copy; a Standby one has its
// memory made raw first. `copy` writes into the caller's staging only and the caller commits after this returns,
// so one cleanup (removing the staging) undoes a failed copy and a failed resume alike.
import type { CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { hypervisorFor, requireCapabilities } from "../service/hypervisor-lookup.ts";
import { awaitGuestReady } from "./readiness.ts";
import { resumeFromStandby } from "./restore.ts";
import { enterStandby } from "./standby.ts";
import { isLive, type InstanceState } from "./state-machine.ts";
import { standbyDir } from "./view.ts";

/** Validation step of the callers: a running source needs a driver that can put it into Standby. */
export function assertCapturable(hv: Hypervisor, state: InstanceState, operation: string): void {
  if (isLive(state)) requireCapabilities(hv, ["pause", "standby"], `${operation} a running instance`);
}

/** `state` is the source's, read under its lock (which the caller holds); `operation` labels metrics. */
export async function captureLive(ctx: CoreContext, id: string, state: InstanceState, operation: string, copy: () => Promise<void>): Promise<void> {
  const row = ctx.instances.get(id)!;
  const hv = hypervisorFor(ctx, row.hypervisor);
  if (!isLive(state)) {
    if (state === "Standby") await ctx.compression.takeRawMemory({ kind: "instance", id }, standbyDir(ctx, id), hv, operation);
    return copy();
  }
  await awaitGuestReady(ctx, row, hv);
  await enterStandby(ctx, id);
  const copyError = await copy().then(
    () => undefined,
    (err: unknown) => ({ err }),
  );
  try {
    await resumeFromStandby(ctx, id, operation);
  } catch (err) {
    throw inStep(copyError ? `resume source after failed copy (${String(copyError.err)})` : "resume source", err);
  }
  if (copyError) throw copyError.err;
}
