// Forks (reference §4.7, §4.8, product.md §4.1–4.2): a new instance (new id, the caller's name) from a snapshot or
// from another instance. The memory file is hard-linked, never copied; disks are sparse copies, so each fork
// writes its own disk. A fork that fails on its way to the target state is removed completely.
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import { payloadSizes } from "../../store/file-sizes.ts";
import { GUEST_FILES } from "../../store/paths.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { DomainError, conflict, invalidState, notSupported } from "../errors.ts";
import { copyGuestDir } from "./guest-copy.ts";
import { getImage } from "../images/images.ts";
import { deleteInstance } from "./delete.ts";
import { bootInstance } from "./start.ts";
import { describeInstance, guestDir, hasStandbyFiles, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./view.ts";
import { awaitGuestReady } from "./readiness.ts";
import { resumeFromStandby } from "./restore.ts";
import { ensureMemoryAvailable } from "../service/host-memory.ts";
import { ensureFreeSpace, mapNoSpace } from "../service/disk-space.ts";
import { guestCopyBytes } from "./copy-cost.ts";
import { storedMetadataOf } from "../snapshots/create.ts";
import { snapshotRow } from "../snapshots/view.ts";
import { enterStandby } from "./standby.ts";
import { isLive } from "./state-machine.ts";
import { TARGET_STATES, resolveTargetHypervisor, resolveTargetState, type TargetState } from "./target-state.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";

export interface ForkSnapshotInput {
  name: string;
  targetState?: string;
  targetHypervisor?: string;
}

export interface ForkInstanceInput {
  name: string;
  fromRunning: boolean;
  targetState?: TargetState;
}

/** POST /snapshots/{id}/fork */
export async function forkSnapshot(ctx: CoreContext, snapshotId: string, input: ForkSnapshotInput): Promise<InstanceView> {
  const snapshot = snapshotRow(ctx, snapshotId);
  const target = resolveTargetState(snapshot.kind, input.targetState);
  const hv = resolveTargetHypervisor(ctx, snapshot, input.targetHypervisor);
  const stored = snapshot.storedMetadata as StoredMetadata;
  if (target !== "Stopped") getImage(ctx, stored.image);
  assertForkable(hv, snapshot.kind === "Standby");
  assertNameFree(ctx, input.name, "conflict");

  const forkId = await ctx.locks.run(`snapshot:${snapshotId}`, async () => {
    snapshotRow(ctx, snapshotId);
    // A compressed snapshot is decompressed once, in its own dir, and its record says so (product.md §4.2).
    await ctx.compression.cancel(`snapshot:${snapshotId}`, "fork_snapshot");
    const payload = ctx.paths.snapshotGuest(snapshotId);
    if (snapshot.kind === "Standby") {
      await ctx.compression.ensureRawMemory(join(payload, GUEST_FILES.standbyDir), hv, "fork_snapshot");
      ctx.snapshots.update(snapshotId, {
        compressionState: "none",
        compression: null,
        compressionError: null,
        compressedSizeBytes: null,
        uncompressedSizeBytes: null,
        ...(await payloadSizes(payload)),
      });
    }
    // The payload is a copy of the source's guest dir: its saved VM still names that dir, not the payload.
    const savedIn = ctx.paths.guest(snapshot.sourceInstanceId);
    return materializeFork(ctx, hv, { from: payload, savedIn }, input.name, { ...stored, hypervisor: hv.type }, snapshotId, "conflict");
  });
  return applyForkTarget(ctx, forkId, target);
}

/** POST /instances/{id}/fork */
export async function forkInstance(ctx: CoreContext, ref: string, input: ForkInstanceInput): Promise<InstanceView> {
  if (input.targetState !== undefined && !TARGET_STATES.includes(input.targetState)) {
    throw invalidState(`invalid target_state ${JSON.stringify(input.targetState)}`);
  }
  const { id } = resolveInstance(ctx, ref);
  const made = await runLocked(ctx, id, "fork_instance", async () => {
    const source = await loadInstance(ctx, id);
    const hv = hypervisorFor(ctx, source.hypervisor);
    if (isLive(source.state) && !input.fromRunning) {
      throw invalidState(`cannot fork from state ${source.state} (set from_running=true to fork a running instance)`);
    }
    if (!isLive(source.state) && source.state !== "Stopped" && source.state !== "Standby") {
      throw invalidState(`cannot fork from state ${source.state}`);
    }
    assertForkable(hv, source.state !== "Stopped");
    assertNameFree(ctx, input.name, "name_conflict");
    const row = ctx.instances.get(id)!;
    const stored = storedMetadataOf(row);
    if (!isLive(source.state)) {
      if (source.state === "Standby") {
        await ctx.compression.cancel(`instance:${id}`, "restore_instance");
        await ctx.compression.ensureRawMemory(standbyDir(ctx, id), hv, "fork_instance");
      }
      const forkId = await materializeFork(ctx, hv, { from: guestDir(ctx, id), savedIn: guestDir(ctx, id) }, input.name, stored, undefined, "name_conflict");
      return { forkId, sourceState: source.state as "Stopped" | "Standby" };
    }
    // A running source: brief standby, copy, then back to Running whatever happened to the copy.
    await awaitGuestReady(ctx, row, hv);
    await enterStandby(ctx, id);
    let forkId: string | undefined;
    let forkError: unknown;
    try {
      forkId = await materializeFork(ctx, hv, { from: guestDir(ctx, id), savedIn: guestDir(ctx, id) }, input.name, stored, undefined, "name_conflict");
    } catch (err) {
      forkError = err;
    }
    await resumeFromStandby(ctx, id, "fork_instance");
    if (forkError) throw forkError;
    return { forkId: forkId!, sourceState: "Running" as const };
  });
  // Default target: the source's state at fork time.
  return applyForkTarget(ctx, made.forkId, input.targetState ?? made.sourceState);
}

function assertForkable(hv: Hypervisor, withMemory: boolean): void {
  if (withMemory && !hv.capabilities.fork) throw notSupported(`hypervisor ${hv.type} cannot fork snapshots`);
}

function assertNameFree(ctx: CoreContext, name: string, code: string): void {
  if (ctx.instances.byName(name)) throw conflict(`instance name '${name}' already exists`, code);
}

/**
 * Copies a guest dir (memory hard-linked) into a new instance dir, makes its saved VM usable from there, and
 * commits the instance row (plus the fork link when it comes from a snapshot). Returns the new instance id.
 */
async function materializeFork(
  ctx: CoreContext,
  hv: Hypervisor,
  /** The dir to copy, and the guest dir its standby files were written in (what their paths name). */
  { from, savedIn }: { from: string; savedIn: string },
  name: string,
  stored: StoredMetadata,
  snapshotId: string | undefined,
  nameConflictCode: string,
): Promise<string> {
  const forkId = ctx.newId();
  const staging = await stageDir(ctx.paths.tmpDir);
  const dir = guestDir(ctx, forkId);
  try {
    const bytes = await guestCopyBytes(from);
    await ensureFreeSpace(ctx, bytes, "fork");
    await mapNoSpace(ctx, bytes, "fork", () => copyGuestDir(hv, from, staging, "fork"));
    if (hasStandbyFiles(staging)) await hv.prepareFork(join(staging, GUEST_FILES.standbyDir), savedIn, dir);
    await commitDir(staging, dir);
  } catch (err) {
    await removeTree(staging);
    throw err instanceof DomainError ? err : new DomainError("internal", `fork: ${err instanceof Error ? err.message : err}`, undefined, { cause: err });
  }
  const now = ctx.clock();
  try {
    ctx.instances.insert({
      ...stored,
      id: forkId,
      name,
      pid: null,
      rowState: "ready",
      stateError: null,
      createdAt: now,
      startedAt: null,
      stoppedAt: null,
    });
    if (snapshotId) ctx.snapshots.linkFork(forkId, snapshotId, now);
  } catch (err) {
    ctx.instances.remove(forkId);
    await removeTree(dir);
    // Two forks raced on one name: the unique index decided.
    if (ctx.instances.byName(name)) throw conflict(`instance name '${name}' already exists`, nameConflictCode);
    throw err;
  }
  return forkId;
}

/** Brings a new fork (Stopped or Standby) to its target state; on failure the fork is deleted (reference §4.8). */
async function applyForkTarget(ctx: CoreContext, forkId: string, target: TargetState): Promise<InstanceView> {
  try {
    return await ctx.locks.run(forkId, async () => {
      const view = await loadInstance(ctx, forkId);
      const from = view.state;
      if (from === target) return view;
      if (from === "Stopped" && target === "Running") return bootInstance(ctx, forkId);
      if (from === "Stopped" && target === "Standby") {
        await bootInstance(ctx, forkId);
        const plan = ctx.compression.standbyPlan(view, {});
        await enterStandby(ctx, forkId);
        if (plan) ctx.compression.scheduleStandby(forkId, standbyDir(ctx, forkId), view.hypervisor, plan);
        return describeInstance(ctx, ctx.instances.get(forkId)!);
      }
      if (from === "Standby" && target === "Running") {
        ensureMemoryAvailable(ctx, view.memoryBytes, `resuming fork ${view.name}`);
        return resumeFromStandby(ctx, forkId, "fork_restore");
      }
      if (from === "Standby" && target === "Stopped") {
        await removeTree(standbyDir(ctx, forkId));
        return describeInstance(ctx, ctx.instances.get(forkId)!);
      }
      throw invalidState(`cannot transition forked instance from ${from} to ${target}`);
    });
  } catch (err) {
    await deleteInstance(ctx, forkId).catch((delErr) => ctx.logger.error("remove failed fork", { instance: forkId, error: String(delErr) }));
    throw err;
  }
}
