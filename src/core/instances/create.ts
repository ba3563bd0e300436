// POST /instances: a new Stopped instance with its own guest dir (VM config + a sparse copy of the image's
// rootfs as its writable disk). The dir is built in <data>/tmp and renamed into place before the row commits.
import { truncate } from "node:fs/promises";
import { join } from "node:path";
import type { Hypervisor, HypervisorType } from "../../hv/hypervisor.ts";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import { allocatedSize } from "../../store/file-sizes.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";
import { sparseCopyFile } from "../../fs/sparse-copy.ts";
import type { SnapshotPolicy } from "../compression/compression-policy.ts";
import type { AutoStandbyPolicy, NetworkSettings } from "../../store/schema.ts";
import { generationIdFrom } from "./generation-id.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, inStep, insufficientResources, invalidRequest, notFound, notSupported } from "../errors.ts";
import { describeBytes } from "../service/describe-bytes.ts";
import { storageError } from "../service/disk-space.ts";
import { ensureFitsHost } from "../service/host-memory.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";
import { describeInstance, type InstanceView } from "./view.ts";
import { INSTANCE_DISK, vmConfigFor, writeInstanceFiles } from "./vm-config.ts";
import { newInstanceRow } from "./instance-row.ts";

export const MIN_MEMORY_BYTES = 128 * 1024 * 1024;
export const MAX_VCPUS = 64;

export interface CreateInstanceInput {
  name: string;
  image: string;
  memoryBytes: number;
  overlayBytes: number;
  vcpus: number;
  hypervisor: HypervisorType;
  env: Record<string, string>;
  tags: Record<string, string>;
  snapshotPolicy?: SnapshotPolicy;
  skipGuestAgent: boolean;
  /** `enabled` undefined: on where the hypervisor can attach the server's network mode, off elsewhere. */
  network: Omit<NetworkSettings, "enabled"> & { enabled?: boolean };
  autoStandby?: AutoStandbyPolicy;
}

function networkSettings(ctx: CoreContext, hv: Hypervisor, asked: CreateInstanceInput["network"]): NetworkSettings {
  const mode = ctx.config.network.mode;
  const possible = hv.capabilities.networkModes.includes(mode);
  if (asked.enabled && !possible) {
    throw notSupported(`network: hypervisor ${hv.type} cannot attach a ${mode}-mode network on this server; set network.enabled to false`);
  }
  const enabled = asked.enabled ?? possible;
  if (asked.guestPorts.length > 0 && !(enabled && mode === "user")) {
    throw invalidRequest(`network.port_forwards: forwards exist in user mode with the network enabled (this server runs ${mode} mode${enabled ? "" : ", network disabled"})`);
  }
  return { ...asked, enabled };
}

export async function createInstance(ctx: CoreContext, input: CreateInstanceInput): Promise<InstanceView> {
  // 1. Validate everything before touching the disk.
  if (input.memoryBytes < MIN_MEMORY_BYTES) {
    throw invalidRequest(`size must be at least ${MIN_MEMORY_BYTES / 1024 / 1024}MB, got ${input.memoryBytes} bytes`);
  }
  if (!Number.isInteger(input.vcpus) || input.vcpus < 1 || input.vcpus > MAX_VCPUS) {
    throw invalidRequest(`vcpus must be between 1 and ${MAX_VCPUS}, got ${input.vcpus}`);
  }
  ensureFitsHost(ctx, input.memoryBytes);
  const hv = hypervisorFor(ctx, input.hypervisor);
  const network = networkSettings(ctx, hv, input.network);
  const image = ctx.images.get(input.image);
  if (!image) throw notFound(`image ${JSON.stringify(input.image)} not found`);
  if (ctx.instances.byName(input.name)) {
    throw invalidRequest(`instance name '${input.name}' already exists`, "already_exists");
  }
  const rootfsBytes = image.rootfs ? Bun.file(image.rootfs).size : 0;
  if (input.overlayBytes < rootfsBytes) {
    throw invalidRequest(`overlay_size must be at least the image's disk size (${rootfsBytes} bytes), got ${input.overlayBytes}`);
  }
  // The overlay starts sparse, but a guest may fill all of it: it must fit the data dir's disk as it is now.
  const free = await ctx.host.freeBytes(ctx.paths.root);
  if (input.overlayBytes > free) {
    throw insufficientResources(
      `overlay_size ${describeBytes(input.overlayBytes)} exceeds the free space of the data dir ${ctx.paths.root}: ${describeBytes(free)} free`,
    );
  }

  // 2. Build the guest dir in staging, its record naming the row committed below.
  const id = ctx.newId();
  const row = newInstanceRow(
    { id, name: input.name, createdAt: ctx.clock() },
    {
      image: input.image,
      hypervisor: hv.type,
      hypervisorVersion: null,
      vcpus: input.vcpus,
      memoryBytes: input.memoryBytes,
      overlayBytes: input.overlayBytes,
      env: input.env,
      tags: input.tags,
      snapshotPolicy: input.snapshotPolicy ?? null,
      // A hypervisor with no agent channel on this host cannot pass the readiness gate: it runs without one.
      skipGuestAgent: input.skipGuestAgent || hv.layout().agentSocket === undefined,
      network,
      autoStandby: input.autoStandby ?? null,
    },
  );
  const staging = await stageDir(ctx.paths.tmpDir);
  try {
    await Bun.write(join(staging, GUEST_FILES.logsDir, ".keep"), "");
    if (image.rootfs) {
      const disk = join(staging, INSTANCE_DISK);
      await sparseCopyFile(image.rootfs, disk);
      // A bigger virtual disk than the image costs nothing: the tail is a hole.
      await truncate(disk, input.overlayBytes);
    }
    const generationId = generationIdFrom(ctx.randomBytes(16));
    const config = vmConfigFor(image, { vcpus: input.vcpus, memoryBytes: input.memoryBytes, guestAgent: !input.skipGuestAgent, generationId });
    await writeInstanceFiles(staging, config, row, null);
    // 3. Rename into place, then commit the row.
    await commitDir(staging, ctx.paths.guest(id));
  } catch (err) {
    await removeTree(staging);
    const diskBytes = image.rootfs ? await allocatedSize(image.rootfs) : 0;
    throw (await storageError(ctx, err, diskBytes, `instance ${input.name}'s disk`)) ?? inStep("create guest dir", err);
  }
  try {
    ctx.instances.insert(row);
  } catch (err) {
    await removeTree(ctx.paths.guest(id));
    // Two creates raced on one name: the unique index decided.
    if (ctx.instances.byName(input.name)) throw invalidRequest(`instance name '${input.name}' already exists`, "already_exists");
    throw err instanceof DomainError ? err : inStep("save instance", err);
  }
  return describeInstance(ctx, ctx.instances.get(id)!);
}
