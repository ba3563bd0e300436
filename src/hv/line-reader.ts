// Splits a byte stream from an untrusted peer (the guest) into `\n`-terminated lines, in time linear in the bytes
// received and memory bounded by one line: each chunk is scanned once, and a line that grows past the limit is
// dropped whole (reported once, then skipped up to its newline) instead of being kept.

const NEWLINE = 0x0a;

export class LineReader {
  private parts: Buffer[] = [];
  private length = 0;
  /** Inside a line that went past the limit: its bytes are dropped up to the next newline. */
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    /** A complete line, without its `\n`, decoded as latin1 (one char per byte, whatever the bytes are). */
    private readonly onLine: (line: string) => void,
    /** A line went past `maxLineBytes`; it will not be delivered. */
    private readonly onOversized: () => void,
  ) {}

  push(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      this.append(bytes.subarray(start, end));
      start = end + 1;
      const line = this.skipping ? undefined : Buffer.concat(this.parts, this.length).toString("latin1");
      this.parts = [];
      this.length = 0;
      this.skipping = false;
      if (line !== undefined) this.onLine(line);
    }
    // Copied: the rest waits for a later chunk, and the caller may reuse its buffer.
    this.append(Buffer.from(bytes.subarray(start)));
  }

  private append(bytes: Buffer): void {
    if (this.skipping || bytes.length === 0) return;
    this.length += bytes.length;
    if (this.length <= this.maxLineBytes) {
      this.parts.push(bytes);
      return;
    }
    this.parts = [];
    this.length = 0;
    this.skipping = true;
    this.onOversized();
  }
}
