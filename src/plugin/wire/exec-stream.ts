// The NDJSON body of /exec/stream: output events while the command runs, then its exit or error. The queue towards
// a slow client is bounded: past `limitBytes` queued, output is dropped and the exit line says so.
import type { ErrorBody } from "../errors.ts";

type Stream = "stdout" | "stderr";

export class ExecStreamOutput {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly abort = new AbortController();
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private readonly truncated = { stdout: false, stderr: false };
  private readonly encoder = new TextEncoder();
  private done = false;

  constructor(limitBytes: number) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => (this.controller = controller),
        cancel: () => this.abort.abort(new Error("the client went away")),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: limitBytes }),
    );
  }

  /** Aborted when the client stops reading (disconnects): the command is then killed. */
  get cancelled(): AbortSignal {
    return this.abort.signal;
  }

  write(stream: Stream, bytes: Uint8Array): void {
    if (this.done) return;
    if ((this.controller.desiredSize ?? 0) <= 0) {
      this.truncated[stream] = true;
      return;
    }
    const data = this.decoders[stream].decode(bytes, { stream: true });
    if (data) this.line({ type: stream, data });
  }

  exit(exitCode: number): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.decoders[stream].decode();
      if (rest) this.line({ type: stream, data: rest });
    }
    this.end({ type: "exit", exit_code: exitCode, stdout_truncated: this.truncated.stdout, stderr_truncated: this.truncated.stderr });
  }

  fail(error: ErrorBody): void {
    this.end({ type: "error", ...error });
  }

  private end(event: object): void {
    if (this.done) return;
    this.line(event);
    this.done = true;
    if (!this.abort.signal.aborted) this.controller.close();
  }

  private line(event: object): void {
    if (this.abort.signal.aborted) return;
    this.controller.enqueue(this.encoder.encode(`${JSON.stringify(event)}\n`));
  }
}
