// What one transfer job does: push the snapshot to its remote, or pull it from there.
import type { TransferJobRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { pullSnapshot } from "./pull.ts";
import { pushSnapshot } from "./push.ts";
import { remoteStore } from "./remotes.ts";
import type { TransferReporter } from "./transfer-progress.ts";

export function runTransfer(ctx: CoreContext, job: TransferJobRow, report: TransferReporter, signal: AbortSignal): Promise<void> {
  const remote = remoteStore(ctx, job.remote);
  return job.kind === "push" ? pushSnapshot(ctx, job.snapshotId, remote, report, signal) : pullSnapshot(ctx, job.id, job.snapshotId, remote, report, signal);
}
