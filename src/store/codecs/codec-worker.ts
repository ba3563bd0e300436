// Worker side of a codec job (codecs/codec-runner.ts is the main-thread side): runs one compress or
// decompress of a file so the service's event loop never waits on a codec. It is a second entry point of the
// compiled binary (`bun build --compile src/main.ts src/store/codecs/codec-worker.ts`).
import type { CodecName } from "./codec-table.ts";
import { compressFile, decompressFile, type CodecResult } from "./file-codec.ts";

export interface CodecJob {
  op: "compress" | "decompress";
  algorithm: CodecName;
  /** Compression level; the codec's default when absent. */
  level?: number;
  src: string;
  dst: string;
}

export type ToWorker = { type: "start"; job: CodecJob } | { type: "abort" };
export type FromWorker =
  | { type: "progress"; done: number; total: number }
  | { type: "done"; result: CodecResult }
  | { type: "failed"; aborted: boolean; message: string };

declare const self: Worker;

const abort = new AbortController();

// Registered first, before anything asynchronous: a message that arrives while the worker is still awaiting
// at top level is lost (bun-runtime-notes.md §5).
self.onmessage = (event: MessageEvent<ToWorker>) => {
  if (event.data.type === "abort") abort.abort();
  else void run(event.data.job);
};

async function run(job: CodecJob): Promise<void> {
  const post = (message: FromWorker) => self.postMessage(message);
  const options = {
    algorithm: job.algorithm,
    signal: abort.signal,
    onProgress: (done: number, total: number) => post({ type: "progress", done, total }),
  };
  try {
    const result =
      job.op === "compress"
        ? await compressFile(job.src, job.dst, { ...options, level: job.level })
        : await decompressFile(job.src, job.dst, options);
    post({ type: "done", result });
  } catch (err) {
    post({ type: "failed", aborted: abort.signal.aborted, message: err instanceof Error ? err.message : String(err) });
  }
}
