// Start-up: a lease is kept only by an instance whose VM exists (adopted running, or standby files on disk).
// Leases of deleted, stopped or crashed-and-not-adopted instances are released (their TAPs removed), so after a
// kill -9 no address is held twice or forever. Bridge mode also removes TAPs of ours that no lease names.
import type { CoreContext } from "../service/context.ts";
import { hasStandbyFiles } from "../instances/view.ts";
import { releaseNetwork } from "./leases.ts";

export async function reconcileLeases(ctx: CoreContext): Promise<void> {
  for (const lease of ctx.networkLeases.leases()) {
    const row = ctx.instances.get(lease.instanceId);
    const keeps = row && row.rowState === "ready" && (ctx.vms.get(row.id) !== undefined || hasStandbyFiles(ctx.paths.guest(row.id)));
    if (!keeps) await releaseNetwork(ctx, lease.instanceId);
  }
  if (!ctx.bridge) return;
  const leased = new Set(ctx.networkLeases.leases().map((l) => l.tap));
  for (const tap of await ctx.bridge.taps()) {
    if (!leased.has(tap)) await ctx.bridge.removeTap(tap);
  }
}
