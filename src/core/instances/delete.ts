// DELETE /instances/{id}: from any state. The row is marked deleting, the VMM and files go, then the row.
// Snapshots of the instance and its schedule outlive it (reference §5.4).
import { removeTree } from "../../fs/atomic.ts";
import type { CoreContext } from "../service/context.ts";
import { resolveInstance } from "./view.ts";
import { releaseNetwork } from "../network/leases.ts";

export async function deleteInstance(ctx: CoreContext, ref: string): Promise<void> {
  const { id } = resolveInstance(ctx, ref);
  await ctx.locks.run(id, async () => {
    if (!ctx.instances.get(id)) return;
    await ctx.compression.cancel({ kind: "instance", id }, "delete_instance");
    ctx.instances.update(id, { rowState: "deleting" });
    await ctx.vms.release(id)?.kill();
    await releaseNetwork(ctx, id);
    await removeTree(ctx.paths.guest(id));
    ctx.instances.remove(id);
  });
}
