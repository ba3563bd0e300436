// POST /instances/{id}/start: cold boot of a Stopped instance; returns once the guest agent answers.
import { runLocked, type CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import { ensureMemoryAvailable } from "../service/host-memory.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, type InstanceView } from "./view.ts";
import { awaitGuestReady } from "./readiness.ts";
import { assertTransition, isLive } from "./state-machine.ts";
import { coldBootConfig, readVmConfig } from "./vm-config.ts";
import { trackLaunched } from "./vm-records.ts";
import { acquireNetwork, guestNetworkOf, releaseNetwork } from "../network/leases.ts";
import { bootCmdlineWords } from "../network/guest-network.ts";

export async function startInstance(ctx: CoreContext, ref: string): Promise<InstanceView> {
  const { id } = resolveInstance(ctx, ref);
  return runLocked(ctx, id, "start", async () => {
    const view = await loadInstance(ctx, id);
    if (isLive(view.state)) return view;
    assertTransition(view.state, "Created", "start");
    return bootInstance(ctx, id);
  });
}

/** Boots a Stopped instance (caller holds its lock). A boot that never becomes ready leaves no VMM behind. */
export async function bootInstance(ctx: CoreContext, id: string): Promise<InstanceView> {
  const row = ctx.instances.get(id)!;
  ensureMemoryAvailable(ctx, row.memoryBytes, `booting ${row.name}`);
  const hv = hypervisorFor(ctx, row.hypervisor);
  const dir = guestDir(ctx, id);
  const config = coldBootConfig(await readVmConfig(dir));
  const net = await acquireNetwork(ctx, row);
  const lease = net && ctx.networkLeases.lease(id);
  // The guest's identity rides on the kernel command line of this boot (the record keeps the image's own).
  const cmdline = [config.cmdline, ...bootCmdlineWords(lease ? guestNetworkOf(ctx, lease) : undefined, row.name)].join(" ");
  const vm = await hv.start({ dir, config: { ...config, cmdline, ...(net ? { network: net.attachment } : {}) } }).catch(async (err) => {
    await releaseNetwork(ctx, id);
    throw inStep("start VMM", err);
  });
  await trackLaunched(ctx, id, dir, vm).catch(async (err) => {
    await releaseNetwork(ctx, id);
    throw err;
  });
  ctx.instances.update(id, { pid: vm.pid, startedAt: ctx.clock(), stoppedAt: null, hypervisorVersion: await hv.version() });
  try {
    await awaitGuestReady(ctx, row, hv);
  } catch (err) {
    await ctx.vms.release(id)?.kill();
    ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
    await releaseNetwork(ctx, id);
    throw err;
  }
  return describeInstance(ctx, ctx.instances.get(id)!);
}
