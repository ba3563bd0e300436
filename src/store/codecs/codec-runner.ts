// Main-thread side of a codec job: runs compressFile / decompressFile in a Worker (./codec-worker.ts) so the
// event loop stays responsive, relays progress, and cancels through an AbortSignal. On failure or abort it
// removes its own partial output (`dst`); a rejection after abort is a DOMException named "AbortError".
import { rm } from "node:fs/promises";
import type { CodecJob, FromWorker, ToWorker } from "./codec-worker.ts";
import type { CodecResult } from "./file-codec.ts";

export interface RunCodecOptions extends CodecJob {
  /** Aborting asks the worker to stop after its current chunk (at most ~0.5 s, zstd level 19). */
  signal?: AbortSignal;
  /** Bytes of `src` processed so far and its size, once per chunk. */
  onProgress?: (done: number, total: number) => void;
}

// The worker is a second entry point of the compiled binary (bun-runtime-notes.md §5). There every bundled
// module's import.meta.url is the entry's (`file:///$bunfs/root/main` for src/main.ts) and the worker sits at
// `root/store/codecs/codec-worker.js`, which Bun also finds under its source name; from source, it is beside
// this file. A bare path would resolve against the cwd under `bun run`.
const COMPILED = import.meta.url.startsWith("file:///$bunfs/");
const WORKER_URL = new URL(COMPILED ? "./store/codecs/codec-worker.ts" : "./codec-worker.ts", import.meta.url).href;

export async function runCodec(options: RunCodecOptions): Promise<CodecResult> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortError(options);
  const job: CodecJob = { op: options.op, algorithm: options.algorithm, level: options.level, src: options.src, dst: options.dst };
  const worker = new Worker(WORKER_URL);
  const onAbort = () => worker.postMessage({ type: "abort" } satisfies ToWorker);
  let sinkError: unknown;
  try {
    return await new Promise<CodecResult>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === "progress") {
          // A failing progress sink ends the job, never escapes as an uncaught error; the worker is stopped
          // first, so it closes its files (a terminated worker would keep them open, and a deleted output's blocks
          // allocated, until the process ends).
          try {
            onProgress?.(message.done, message.total);
          } catch (err) {
            sinkError ??= err;
            onAbort();
          }
        } else if (message.type === "done") resolve(message.result);
        else if (sinkError !== undefined) reject(sinkError);
        else reject(message.aborted ? abortError(options) : new Error(`${job.op} ${job.src}: ${message.message}`));
      };
      // Without an error listener a worker that fails to load does so silently (bun-runtime-notes.md §5).
      worker.addEventListener("error", (event) => reject(new Error(`codec worker failed: ${event.message}`)));
      worker.addEventListener("close", () => reject(new Error("codec worker exited before finishing its job")));
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.postMessage({ type: "start", job } satisfies ToWorker);
    });
  } catch (err) {
    await rm(job.dst, { force: true });
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    worker.terminate();
  }
}

function abortError(job: CodecJob): DOMException {
  return new DOMException(`${job.op} of ${job.src} was aborted`, "AbortError");
}
