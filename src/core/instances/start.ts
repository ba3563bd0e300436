// POST /instances/{id}/start: cold boot of a Stopped instance; returns once the guest agent answers.
import { runLocked, type CoreContext } from "../service/context.ts";
import { inStep } from "../errors.ts";
import { ensureMemoryAvailable } from "../service/host-memory.ts";
import { ensureFreeSpace, storageError } from "../service/disk-space.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";
import { describeInstance, guestDir, loadInstance, resolveInstance, type InstanceView } from "./view.ts";
import { awaitGuestReady } from "./readiness.ts";
import { assertTransition, isLive } from "./state-machine.ts";
import { coldBootConfig, readVmConfig, writeInstanceFiles } from "./vm-config.ts";
import { trackLaunched } from "./vm-records.ts";
import { acquireNetwork, guestNetworkOf, releaseNetwork } from "../network/leases.ts";
import { bootCmdlineWords } from "../network/guest-network.ts";
import { bootingGeneration, newerGeneration } from "../images/generations.ts";
import type { VmConfig } from "../../hv/hypervisor.ts";
import type { InstanceRow } from "../../store/schema.ts";

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
  // A guest whose RAM is a file fills it as it runs; a full disk would fault the VMM instead of refusing the boot.
  if (hv.layout().ramFile !== undefined) await ensureFreeSpace(ctx, row.memoryBytes, `booting ${row.name}`);
  const dir = guestDir(ctx, id);
  const config = await coldBoot(ctx, row, dir);
  const net = await acquireNetwork(ctx, row);
  const lease = net && ctx.networkLeases.lease(id);
  // The guest's identity rides on the kernel command line of this boot (the record keeps the image's own).
  const cmdline = [config.cmdline, ...bootCmdlineWords(lease ? guestNetworkOf(ctx, lease) : undefined, row.name)].join(" ");
  const vm = await hv.start({ dir, config: { ...config, cmdline, ...(net ? { network: net.attachment } : {}) } }).catch(async (err) => {
    await releaseNetwork(ctx, id);
    // A RAM file whose blocks could not be reserved: the same 507 as the up-front check, which a race can pass.
    throw (await storageError(ctx, err, row.memoryBytes, `booting ${row.name}`)) ?? inStep("start VMM", err);
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

/**
 * What a cold boot runs: today's devices, and an instance booted from an older build of its image boots the current
 * one on its own disk (generations.ts). The record says so, so what the instance captures from now on names the
 * files it runs.
 */
async function coldBoot(ctx: CoreContext, row: InstanceRow, dir: string): Promise<VmConfig> {
  const recorded = await readVmConfig(dir);
  const image = newerGeneration(ctx, row.image, recorded);
  if (!image) return coldBootConfig(recorded);
  const config = coldBootConfig(bootingGeneration(recorded, image));
  await writeInstanceFiles(dir, config, row, ctx.snapshots.forkOf(row.id) ?? null);
  ctx.logger.info("instance boots the current generation of its image", { instance: row.id, image: image.name, kernel: image.kernel });
  return config;
}
