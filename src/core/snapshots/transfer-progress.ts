// A transfer's progress as its job row shows it: payload bytes and chunks done of the total, and the bytes that
// actually crossed the network (chunks the other side held already cost nothing).
import type { TransferJobsRepo, TransferProgress } from "../../store/transfer-jobs-repo.ts";
import type { Logger } from "../service/logger.ts";

export interface TransferReporter {
  /** The totals, known once the manifest is: done counters start again from zero. */
  start(totals: { bytes: number; chunks: number }): void;
  /** `count` more chunks done, `bytes` of payload, `transferred` of them sent or fetched. */
  chunks(count: number, bytes: number, transferred: number): void;
}

/** Writes progress to the job's row; a row that cannot be written now (a full disk) does not end the transfer. */
export function rowReporter(repo: TransferJobsRepo, jobId: string, logger: Logger, clock: () => Date): TransferReporter {
  const progress: TransferProgress = { bytesDone: 0, bytesTotal: 0, chunksDone: 0, chunksTotal: 0, bytesTransferred: 0 };
  const save = () => {
    try {
      repo.update(jobId, { ...progress, updatedAt: clock() });
    } catch (err) {
      logger.warn("transfer progress not recorded", { job: jobId, error: String(err) });
    }
  };
  return {
    start({ bytes, chunks }) {
      Object.assign(progress, { bytesDone: 0, bytesTotal: bytes, chunksDone: 0, chunksTotal: chunks, bytesTransferred: 0 });
      save();
    },
    chunks(count, bytes, transferred) {
      progress.chunksDone += count;
      progress.bytesDone += bytes;
      progress.bytesTransferred += transferred;
      save();
    },
  };
}
