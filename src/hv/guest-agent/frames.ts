// The agent protocol's framing (scripts/guest/agentd.c holds the same table):
//
//   "SV" type:u8 flags:u8 id:u32le length:u32le payload[length]        length <= MAX_FRAME_PAYLOAD
//
// The guest is untrusted: FrameReader holds at most one frame (MAX_FRAME_PAYLOAD + header) whatever it is sent
// (64 KiB while frames are small, so an idle connection costs little),
// looks at every byte a bounded number of times, and skips what is not a frame (noise, a header announcing more
// than the limit) by searching for the next "SV", so a flood costs CPU linear in its size and no memory.

export const PROTOCOL_VERSION = 2;
export const HEADER_BYTES = 12;
/** Largest payload either side sends (a READ chunk is 8 bytes of size plus at most this minus 8 of data). */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

export const Request = { hello: 1, exec: 2, data: 3, kill: 4, write: 5, read: 6, dropTimeWait: 7 } as const;
export const Reply = { hello: 0x81, stdout: 0x82, stderr: 0x83, exit: 0x84, error: 0x85, ok: 0x86, chunk: 0x87 } as const;
/** EXEC flag: stdin follows as DATA frames (otherwise the command reads /dev/null). */
export const EXEC_WITH_STDIN = 1;

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

export function encodeFrame(type: number, id: number, payload: Uint8Array = new Uint8Array(0), flags = 0): Uint8Array {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes is over ${MAX_FRAME_PAYLOAD}`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.write("SV", 0, "latin1");
  frame.writeUInt8(type, 2);
  frame.writeUInt8(flags, 3);
  frame.writeUInt32LE(id, 4);
  frame.writeUInt32LE(payload.length, 8);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

const S = 0x53;
const V = 0x56;

/** What a reader holds while frames are small; it grows for a larger frame (up to one whole frame) and back. */
const INITIAL_BUFFER_BYTES = 64 * 1024;

export class FrameReader {
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private length = 0;
  /** Bytes skipped because they were not part of a frame. */
  noiseBytes = 0;

  constructor(private readonly onFrame: (frame: Frame) => void) {}

  push(chunk: Uint8Array): void {
    for (let taken = 0; taken < chunk.length; ) {
      if (this.length === this.buffer.length) this.grow();
      const n = Math.min(chunk.length - taken, this.buffer.length - this.length);
      this.buffer.set(chunk.subarray(taken, taken + n), this.length);
      this.length += n;
      taken += n;
      this.parse();
    }
  }

  private parse(): void {
    let at = 0;
    for (;;) {
      const start = this.syncPoint(at);
      this.noiseBytes += start - at;
      at = start;
      if (this.length - at < HEADER_BYTES) break;
      const size = this.buffer.readUInt32LE(at + 8);
      if (size > MAX_FRAME_PAYLOAD) {
        this.noiseBytes += 1;
        at += 1;
        continue;
      }
      if (this.length - at < HEADER_BYTES + size) break;
      const payload = Buffer.from(this.buffer.subarray(at + HEADER_BYTES, at + HEADER_BYTES + size));
      const frame = { type: this.buffer[at + 2]!, id: this.buffer.readUInt32LE(at + 4), payload };
      at += HEADER_BYTES + size;
      this.onFrame(frame);
    }
    // Only the unfinished frame stays: every byte is moved at most once after its frame's start was found.
    if (at > 0) {
      this.buffer.copyWithin(0, at, this.length);
      this.length -= at;
    }
    if (this.length === 0 && this.buffer.length > INITIAL_BUFFER_BYTES) this.buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  }

  /** Full after parse(): it holds the start of one frame whose header announced at most MAX_FRAME_PAYLOAD. */
  private grow(): void {
    const needed = HEADER_BYTES + this.buffer.readUInt32LE(8);
    const grown = Buffer.allocUnsafe(Math.min(HEADER_BYTES + MAX_FRAME_PAYLOAD, Math.max(needed, this.buffer.length * 2)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** The first offset from `at` where a frame may start ("SV", or a lone "S" at the end). */
  private syncPoint(at: number): number {
    const held = this.buffer.subarray(0, this.length);
    for (let i = held.indexOf(S, at); i >= 0; i = held.indexOf(S, i + 1)) {
      if (i + 1 === this.length || held[i + 1] === V) return i;
    }
    return this.length;
  }
}
