// The manifest a transfer moves: the one stored beside the snapshot, or one built now from its files when the
// snapshot has none yet (taken before manifests existed).
import { buildManifest, imageContentHash, readManifest, type Manifest } from "../../store/payload/manifest.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidState } from "../errors.ts";
import { snapshotRow } from "./view.ts";

export async function snapshotManifest(ctx: CoreContext, snapshotId: string, signal: AbortSignal): Promise<Manifest> {
  const row = snapshotRow(ctx, snapshotId);
  const dir = ctx.paths.snapshot(snapshotId);
  const stored = await readManifest(dir);
  if (stored?.kind === "newer") throw invalidState(`snapshot ${snapshotId} has a manifest of format ${stored.formatVersion}, newer than this server's`);
  if (stored) return stored.manifest;
  const image = ctx.images.get(row.storedMetadata.image);
  const imageHash = image ? await imageContentHash(image, signal) : "0".repeat(64);
  return buildManifest(dir, { hostCpu: { model: "", flags: [] }, imageContentHash: imageHash, createdAt: ctx.clock() }, { signal });
}
