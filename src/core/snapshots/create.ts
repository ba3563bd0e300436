// POST /instances/{id}/snapshots (reference §4.1). The payload is the guest dir copied into
// <data>/snapshots/<id>/guest/ through staging + rename; the row is committed last.
import { join } from "node:path";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import { payloadSizes } from "../../store/file-sizes.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";
import { writeLocalState, type LocalState } from "../../store/payload/local-state.ts";
import { writeSnapshotRecord, type SnapshotRecord } from "../../store/payload/snapshot-record.ts";
import type { InstanceRow, SnapshotRow, StoredMetadata } from "../../store/schema.ts";
import { resolveCompression, type CompressionConfig } from "../compression/compression-policy.ts";
import { runLocked, type CoreContext } from "../service/context.ts";
import { conflict, DomainError, inStep, invalidRequest, invalidState } from "../errors.ts";
import { copyGuestDir } from "../instances/guest-copy.ts";
import { captureBytes } from "../instances/copy-cost.ts";
import { ensureFreeSpace, storageError } from "../service/disk-space.ts";
import { hypervisorFor, requireCapabilities } from "../service/hypervisor-lookup.ts";
import { guestDir, loadInstance, resolveInstance } from "../instances/view.ts";
import { assertCapturable, captureLive } from "../instances/capture-live.ts";
import { getSnapshot, type SnapshotView } from "./view.ts";
import { isLive } from "../instances/state-machine.ts";

export interface CreateSnapshotInput {
  kind: SnapshotRow["kind"];
  name?: string;
  tags: Record<string, string>;
  compression?: CompressionConfig;
  pinned?: boolean;
  /** Set by the schedule runner only: the snapshot's origin is the server's, never a client's. */
  scheduleId?: string;
}

/** The auto-standby policy is optional: a payload's instance record (re-indexing) does not carry it. */
export function storedMetadataOf(row: Omit<StoredMetadata, "autoStandby"> & Partial<Pick<StoredMetadata, "autoStandby">>): StoredMetadata {
  const { image, hypervisor, hypervisorVersion, vcpus, memoryBytes, overlayBytes, env, tags, snapshotPolicy, skipGuestAgent, network } = row;
  const autoStandby = row.autoStandby ?? null;
  return { image, hypervisor, hypervisorVersion, vcpus, memoryBytes, overlayBytes, env, tags, snapshotPolicy, skipGuestAgent, network, autoStandby };
}

export async function createSnapshot(ctx: CoreContext, ref: string, input: CreateSnapshotInput): Promise<SnapshotView> {
  // 1. Request validation.
  if (input.kind === "Stopped" && input.compression?.enabled) {
    throw invalidRequest("compression is only supported for standby snapshots");
  }
  const { id } = resolveInstance(ctx, ref);
  return runLocked(ctx, id, "create_snapshot", async () => {
    // 2. Source state and name.
    const source = await loadInstance(ctx, id);
    if (input.name !== undefined && ctx.snapshots.nameTaken(id, input.name)) {
      throw conflict(`snapshot name ${JSON.stringify(input.name)} already exists for source instance ${id}`);
    }
    if (input.kind === "Standby" && !(isLive(source.state) || source.state === "Standby")) {
      throw invalidState(`standby snapshot requires source in Running or Standby, got ${source.state}`, "conflict");
    }
    if (input.kind === "Stopped" && source.state !== "Stopped") {
      throw invalidState(`stopped snapshot requires source in Stopped, got ${source.state}`, "conflict");
    }
    const hv = hypervisorFor(ctx, source.hypervisor);
    if (input.kind === "Standby") requireCapabilities(hv, ["snapshot"], "take a standby snapshot");
    assertCapturable(hv, source.state, "snapshot");
    const policy =
      input.kind === "Standby" ? resolveCompression(input.compression, source.snapshotPolicy?.compression, ctx.config.compressionDefault) : undefined;

    // 3. Capture the payload into staging; all it writes must fit before the guest is touched.
    const what = `snapshot of ${source.name}`;
    const bytes = await captureBytes(hv, guestDir(ctx, id), source.state, source.memoryBytes);
    await ensureFreeSpace(ctx, bytes, what);
    const snapshotId = ctx.newId();
    const staging = await stageDir(ctx.paths.tmpDir);
    const payload = join(staging, "guest");
    let row: InstanceRow;
    let record: SnapshotRecord;
    const local: LocalState = {
      pinned: input.pinned ?? false,
      origin: input.scheduleId === undefined ? "manual" : "schedule",
      scheduleId: input.scheduleId ?? null,
    };
    try {
      await captureLive(ctx, id, source.state, "create_snapshot", () => copyGuestDir(hv, guestDir(ctx, id), payload, "snapshot"));
      row = ctx.instances.get(id)!;
      record = {
        id: snapshotId,
        name: input.name ?? null,
        kind: input.kind,
        tags: input.tags,
        sourceInstanceId: id,
        sourceInstanceName: row.name,
        sourceHypervisor: row.hypervisor,
        sourceHypervisorVersion: row.hypervisorVersion,
        compression: policy ?? null,
        createdAt: ctx.clock(),
      };
      // With guest/vm.json, the record rebuilds the row if the index is lost.
      await writeSnapshotRecord(staging, record);
      await writeLocalState(staging, local);
      // 4. Rename into place, then commit the row.
      await commitDir(staging, ctx.paths.snapshot(snapshotId));
    } catch (err) {
      await removeTree(staging);
      throw (await storageError(ctx, err, bytes, what)) ?? (err instanceof DomainError ? err : inStep("create snapshot", err));
    }
    try {
      ctx.snapshots.insert({
        ...record,
        storedMetadata: storedMetadataOf(row),
        ...(await payloadSizes(ctx.paths.snapshotGuest(snapshotId))),
        compressionState: policy ? "compressing" : "none",
        compression: policy ?? null,
        compressionError: null,
        compressedSizeBytes: null,
        uncompressedSizeBytes: null,
        rowState: "ready",
        ...local,
      });
    } catch (err) {
      await removeTree(ctx.paths.snapshot(snapshotId));
      throw inStep("save snapshot", err);
    }
    // 5. Background compression of the stored memory, when a policy asks for it.
    if (policy) {
      ctx.compression.scheduleSnapshot(snapshotId, join(ctx.paths.snapshotGuest(snapshotId), GUEST_FILES.standbyDir), row.hypervisor, policy);
    }
    // 6. Background hashing into the payload's manifest (what export, verify and remotes read).
    ctx.manifests.schedule(snapshotId);
    return getSnapshot(ctx, snapshotId);
  });
}
