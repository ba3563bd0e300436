// Forks (reference §4.7, §4.8, product.md §4.1–4.2): a new instance (new id, the caller's name) from a snapshot or
// from another instance. The memory file is hard-linked, never copied; disks are sparse copies, so each fork
// writes its own disk. A fork is built in staging and committed only once its source is back in its state; one
// that fails on its way to the target state is removed completely.
import { join } from "node:path";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import { GUEST_FILES, standbyPath } from "../../store/payload/layout.ts";
import type { InstanceRow, StoredMetadata } from "../../store/schema.ts";
import { standbyPlan } from "../compression/compression-policy.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { DomainError, conflict, inStep, invalidRequest, invalidState } from "../errors.ts";
import { copyGuestDir } from "./guest-copy.ts";
import { rebaseStandbyForFork } from "./vm-records.ts";
import { readSavedVm } from "../../store/payload/vm-record.ts";
import { readVmConfig, writeInstanceFiles } from "./vm-config.ts";
import { getImage } from "../images/images.ts";
import { assertCapturable, captureLive } from "./capture-live.ts";
import { deleteInstance } from "./delete.ts";
import { newInstanceRow } from "./instance-row.ts";
import { generationIdFrom } from "./generation-id.ts";
import { bootInstance } from "./start.ts";
import { runHandoffs } from "./handoffs.ts";
import { assertMailboxesDeliverable, deliverForkMailboxes, type Mailbox } from "./mailboxes.ts";
import { assertCurrentAgent } from "./guest-agent-target.ts";
import { describeInstance, guestDir, hasStandbyFiles, loadInstance, resolveInstance, standbyDir, type InstanceView } from "./view.ts";
import { resumeFromStandby } from "./restore.ts";
import { ensureMemoryAvailable, restoreClaimBytes } from "../service/host-memory.ts";
import { ensureFreeSpace, mapNoSpace } from "../service/disk-space.ts";
import { guestCopyBytes } from "./copy-cost.ts";
import { storedMetadataOf } from "../snapshots/create.ts";
import { snapshotRow } from "../snapshots/view.ts";
import { assertSnapshotCompatible } from "../snapshots/compatibility.ts";
import { enterStandby } from "./standby.ts";
import { isLive } from "./state-machine.ts";
import { isTargetState, resolveTargetHypervisor, resolveTargetState, type TargetState } from "./target-state.ts";
import { hypervisorFor, requireCapabilities } from "../service/hypervisor-lookup.ts";

export interface ForkSnapshotInput {
  name: string;
  targetState?: string;
  targetHypervisor?: string;
  mailboxes?: Mailbox[];
}

export interface ForkInstanceInput {
  name: string;
  fromRunning: boolean;
  targetState?: string;
  mailboxes?: Mailbox[];
}

/** POST /snapshots/{id}/fork */
export async function forkSnapshot(ctx: CoreContext, snapshotId: string, input: ForkSnapshotInput): Promise<InstanceView> {
  const snapshot = snapshotRow(ctx, snapshotId);
  const target = resolveTargetState(snapshot.kind, input.targetState);
  const hv = resolveTargetHypervisor(ctx, snapshot, input.targetHypervisor);
  const stored = snapshot.storedMetadata;
  assertMailboxesDeliverable(input.mailboxes, target, hv, stored.skipGuestAgent);
  if (target !== "Stopped") getImage(ctx, stored.image);
  if (target !== "Stopped") await assertSnapshotCompatible(ctx, snapshotId, `fork of snapshot ${snapshotId}`);
  if (snapshot.kind === "Standby") {
    requireCapabilities(hv, ["fork"], "fork a snapshot with memory");
    // A memory form this VMM cannot load (a RAM file without x-ignore-shared, say) is refused before any copy.
    await hv.checkRestorable(await readSavedVm(join(ctx.paths.snapshotGuest(snapshotId), GUEST_FILES.standbyDir))).catch((err) => {
      throw inStep("fork", err);
    });
  }
  assertNameFree(ctx, input.name, "conflict");

  const forkId = await ctx.locks.run(`snapshot:${snapshotId}`, async () => {
    snapshotRow(ctx, snapshotId);
    const payload = ctx.paths.snapshotGuest(snapshotId);
    // A compressed snapshot is decompressed once, in its own dir, and its record says so (product.md §4.2).
    const job = { kind: "snapshot", id: snapshotId } as const;
    if (snapshot.kind === "Standby") await ctx.compression.takeRawMemory(job, join(payload, GUEST_FILES.standbyDir), hv, "fork_snapshot");
    else await ctx.compression.cancel(job, "fork_snapshot");
    // The payload is a copy of the source's guest dir: its saved VM still names that dir, not the payload.
    const savedIn = ctx.paths.guest(snapshot.sourceInstanceId);
    const record = { name: input.name, stored: { ...stored, hypervisor: hv.type }, snapshotId, nameConflictCode: "conflict" };
    return materializeFork(ctx, record, (staging, forkDir) => stageFork(ctx, hv, { from: payload, savedIn }, staging, forkDir));
  });
  return applyForkTarget(ctx, forkId, target, input.mailboxes);
}

/** POST /instances/{id}/fork */
export async function forkInstance(ctx: CoreContext, ref: string, input: ForkInstanceInput): Promise<InstanceView> {
  const requested = input.targetState;
  if (requested !== undefined && !isTargetState(requested)) throw invalidRequest(`invalid target_state ${JSON.stringify(requested)}`);
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
    if (source.state !== "Stopped") requireCapabilities(hv, ["fork"], "fork an instance with memory");
    assertCapturable(hv, source.state, "fork");
    assertMailboxesDeliverable(input.mailboxes, requested ?? (isLive(source.state) ? "Running" : source.state), hv, source.skipGuestAgent);
    assertNameFree(ctx, input.name, "name_conflict");
    const dir = guestDir(ctx, id);
    const record = { name: input.name, stored: storedMetadataOf(ctx.instances.get(id)!), nameConflictCode: "name_conflict" };
    const forkId = await materializeFork(ctx, record, (staging, forkDir) =>
      captureLive(ctx, id, source.state, "fork_instance", () => stageFork(ctx, hv, { from: dir, savedIn: dir }, staging, forkDir)),
    );
    // A live source is Running again by now.
    return { forkId, sourceState: isLive(source.state) ? ("Running" as const) : (source.state as "Stopped" | "Standby") };
  });
  // Default target: the source's state at fork time.
  return applyForkTarget(ctx, made.forkId, requested ?? made.sourceState, input.mailboxes);
}

function assertNameFree(ctx: CoreContext, name: string, code: string): void {
  if (ctx.instances.byName(name)) throw conflict(`instance name '${name}' already exists`, code);
}

/** Copies a guest dir (memory hard-linked) into `staging` and makes its saved VM usable from `forkDir`. */
async function stageFork(
  ctx: CoreContext,
  hv: Hypervisor,
  /** The dir to copy, and the guest dir its standby files were written in (what their paths name). */
  { from, savedIn }: { from: string; savedIn: string },
  staging: string,
  forkDir: string,
): Promise<void> {
  const bytes = await guestCopyBytes(from, hv.layout().ramFile);
  await ensureFreeSpace(ctx, bytes, "fork");
  await mapNoSpace(ctx, bytes, "fork", () => copyGuestDir(hv, from, staging, "fork"));
  if (hasStandbyFiles(staging)) await rebaseStandbyForFork(hv, standbyPath(staging), savedIn, forkDir);
}

interface ForkRecord {
  name: string;
  stored: StoredMetadata;
  /** Set when the fork comes from a snapshot: the link that counts in its ref_count. */
  snapshotId?: string;
  nameConflictCode: string;
}

/**
 * Builds a new instance dir with `stage`, moves it into place and commits the instance row (plus the fork link).
 * Nothing of the fork remains when any step fails. Returns the new instance id.
 */
async function materializeFork(ctx: CoreContext, record: ForkRecord, stage: (staging: string, forkDir: string) => Promise<void>): Promise<string> {
  const forkId = ctx.newId();
  const row = newInstanceRow({ id: forkId, name: record.name, createdAt: ctx.clock() }, record.stored);
  const staging = await stageDir(ctx.paths.tmpDir);
  const dir = guestDir(ctx, forkId);
  try {
    await stage(staging, dir);
    // The copied record names the source: the fork's names the fork (and its snapshot, for ref_count), and gives
    // it a generation id of its own (what tells a resume that handoffs are due, and the guest to reseed).
    const config = { ...(await readVmConfig(staging)), generationId: generationIdFrom(ctx.randomBytes(16)) };
    await writeInstanceFiles(staging, config, row, record.snapshotId ?? null);
    await commitDir(staging, dir);
  } catch (err) {
    await removeTree(staging);
    // A driver's refusal (not_supported, incompatible) keeps its kind and so its status.
    throw err instanceof DomainError ? err : inStep("fork", err);
  }
  try {
    ctx.instances.insert(row);
    if (record.snapshotId) ctx.snapshots.linkFork(forkId, record.snapshotId, row.createdAt);
  } catch (err) {
    ctx.instances.remove(forkId);
    await removeTree(dir);
    // Two forks raced on one name: the unique index decided.
    if (ctx.instances.byName(record.name)) throw conflict(`instance name '${record.name}' already exists`, record.nameConflictCode);
    throw err;
  }
  return forkId;
}

/** Brings a new fork (Stopped or Standby) to its target state; on failure the fork is deleted (reference §4.8). */
async function applyForkTarget(ctx: CoreContext, forkId: string, target: TargetState, mailboxes?: Mailbox[]): Promise<InstanceView> {
  try {
    return await ctx.locks.run(forkId, async () => {
      const reached = await reachForkTarget(ctx, forkId, target);
      // After the resume's own handoffs (network first), still under the fork's lock: nothing sees the fork
      // Running before its mailboxes are there.
      if (mailboxes?.length) {
        assertCurrentAgent(ctx, forkId, "deliver mailboxes");
        const handoff = { name: "mailboxes", apply: (c: CoreContext, row: InstanceRow) => deliverForkMailboxes(c, row, mailboxes) };
        await runHandoffs(ctx, ctx.instances.get(forkId)!, [handoff]);
      }
      return reached;
    });
  } catch (err) {
    await deleteInstance(ctx, forkId).catch((delErr) => ctx.logger.error("remove failed fork", { instance: forkId, error: String(delErr) }));
    throw err;
  }
}

/** Stopped or Standby → the target state (caller holds the fork's lock). */
async function reachForkTarget(ctx: CoreContext, forkId: string, target: TargetState): Promise<InstanceView> {
  const view = await loadInstance(ctx, forkId);
  const from = view.state;
  if (from === target) return view;
  if (from === "Stopped" && target === "Running") return bootInstance(ctx, forkId);
  if (from === "Stopped" && target === "Standby") {
    await bootInstance(ctx, forkId);
    const plan = standbyPlan(view.snapshotPolicy, {}, ctx.config.compressionDefault);
    await enterStandby(ctx, forkId);
    if (plan) ctx.compression.scheduleStandby(forkId, standbyDir(ctx, forkId), view.hypervisor, plan);
    return describeInstance(ctx, ctx.instances.get(forkId)!);
  }
  if (from === "Standby" && target === "Running") {
    ensureMemoryAvailable(ctx, await restoreClaimBytes(standbyDir(ctx, forkId), view.memoryBytes), `resuming fork ${view.name}`);
    return resumeFromStandby(ctx, forkId, "fork_restore");
  }
  if (from === "Standby" && target === "Stopped") {
    await removeTree(standbyDir(ctx, forkId));
    return describeInstance(ctx, ctx.instances.get(forkId)!);
  }
  throw invalidState(`cannot transition forked instance from ${from} to ${target}`);
}
