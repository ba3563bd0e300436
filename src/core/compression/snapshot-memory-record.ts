// A snapshot record always describes what is on disk (product.md §4.2): when a compression job ends, or a fork
// makes the memory raw again, the record's compression fields and sizes follow the files.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { payloadSizes } from "../../store/file-sizes.ts";
import { compressedPath } from "../../store/payload/memory-forms.ts";
import type { EnabledCompression } from "../../store/schema.ts";
import type { SnapshotsRepo } from "../../store/snapshots-repo.ts";

/** What the snapshot's memory file (`memoryDir`/`memoryFile`) is now. */
export type SnapshotMemory =
  | { form: "compressed"; policy: EnabledCompression; sizes?: { raw: number; compressed: number } }
  | { form: "failed"; policy: EnabledCompression; error: string }
  | { form: "raw" };

/** Updates the record of snapshot `id`, if it still exists. */
export async function recordSnapshotMemory(
  snapshots: SnapshotsRepo,
  id: string,
  memory: { dir: string; file: string },
  now: SnapshotMemory,
): Promise<void> {
  const row = snapshots.get(id);
  if (!row) return;
  if (now.form === "failed") {
    snapshots.update(id, { compressionState: "error", compression: now.policy, compressionError: now.error });
    return;
  }
  // The memory dir is <snapshot>/guest/standby; the sizes cover the whole <snapshot>/guest.
  const sizes = await payloadSizes(join(memory.dir, "..")).catch(() => ({ sizeBytes: 0, allocatedBytes: null }));
  if (now.form === "raw") {
    const noCompression = { compression: null, compressionError: null, compressedSizeBytes: null, uncompressedSizeBytes: null };
    snapshots.update(id, { compressionState: "none", ...noCompression, ...sizes });
    return;
  }
  const compressed = compressedPath(join(memory.dir, memory.file), now.policy.algorithm);
  snapshots.update(id, {
    compressionState: "compressed",
    compression: now.policy,
    compressionError: null,
    compressedSizeBytes: now.sizes?.compressed ?? (await stat(compressed).then((s) => s.size).catch(() => null)),
    uncompressedSizeBytes: now.sizes?.raw ?? row.uncompressedSizeBytes,
    ...sizes,
  });
}
