// Progress of a byte stream the CLI pipes (snapshot export to stdout, import from stdin), on stderr: a terminal
// gets one line rewritten in place, a pipe a line per 10 % step (or per 256 MiB when the total is unknown), and
// both a last line with the total.
const MiB = 1024 * 1024;
const UNKNOWN_TOTAL_STEP = 256 * MiB;

/** Passes `source` through unchanged, counting its bytes into progress lines labelled `label`. */
export function countingStream(source: ReadableStream<Uint8Array>, label: string, total?: number): ReadableStream<Uint8Array> {
  let done = 0;
  let shownStep = -1;
  const line = () => `${label}: ${(done / MiB).toFixed(1)}${total === undefined ? "" : `/${(total / MiB).toFixed(1)}`} MiB`;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        done += chunk.length;
        const step = total ? Math.floor((done / total) * 10) : Math.floor(done / UNKNOWN_TOTAL_STEP);
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line()}`);
        else if (step !== shownStep) process.stderr.write(`${line()}\n`);
        shownStep = step;
        controller.enqueue(chunk);
      },
      flush() {
        if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
        process.stderr.write(`${line()} done\n`);
      },
    }),
  );
}
