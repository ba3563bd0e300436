// Checks that a zstd stream ends on a frame boundary. Bun's node:zlib zstd decoder (1.4.5) ends without an
// error when its input stops in the middle of a frame (measured: a frame cut 10 bytes short decodes to 896 of
// its 1024 KiB), so a truncated file would decompress "successfully". This walks the frame structure (RFC 8878
// §3.1: frame header, 3-byte block headers, optional checksum; skippable frames) while the bytes stream past,
// skipping block contents by arithmetic, so it costs a few operations per block of up to 128 KiB.

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;
const CHECKSUM_BYTES = 4;

export class ZstdFormatError extends Error {
  override readonly name = "ZstdFormatError";
}

type Field = "magic" | "skippable-size" | "descriptor" | "block-header";

export class ZstdFrameCheck {
  private field: Field = "magic";
  private readonly bytes = new Uint8Array(4);
  private need = 4;
  private have = 0;
  /** Bytes to pass over before the next field (block contents, skippable frames, checksums). */
  private skip = 0;
  private checksum = false;
  private frames = 0;

  /** Follows the structure through `chunk`; throws on bytes that cannot be zstd. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(this.need - this.have, chunk.length - at);
      this.bytes.set(chunk.subarray(at, at + n), this.have);
      this.have += n;
      at += n;
      if (this.have === this.need) {
        this.have = 0;
        this.next();
      }
    }
  }

  /** Throws unless the input so far is whole frames (at least one). */
  end(): void {
    if (this.frames === 0 || this.field !== "magic" || this.have !== 0 || this.skip !== 0) {
      throw new ZstdFormatError("truncated zstd input: it ends inside a frame");
    }
  }

  private expect(field: Field, bytes: number): void {
    this.field = field;
    this.need = bytes;
  }

  private next(): void {
    const b = this.bytes;
    switch (this.field) {
      case "magic": {
        const magic = new DataView(b.buffer).getUint32(0, true);
        if (magic === ZSTD_MAGIC) this.expect("descriptor", 1);
        else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) this.expect("skippable-size", 4);
        else throw new ZstdFormatError(`not a zstd frame (magic 0x${magic.toString(16)})`);
        return;
      }
      case "skippable-size":
        this.skip = new DataView(b.buffer).getUint32(0, true);
        this.expect("magic", 4);
        return;
      case "descriptor": {
        const descriptor = b[0]!;
        const singleSegment = (descriptor >> 5) & 1;
        const sizeFlag = descriptor >> 6;
        this.checksum = Boolean(descriptor & 0x04);
        const contentSize = sizeFlag === 0 && singleSegment ? 1 : CONTENT_SIZE_BYTES[sizeFlag as 0 | 1 | 2 | 3];
        const rest = (singleSegment ? 0 : 1) + DICT_ID_BYTES[(descriptor & 3) as 0 | 1 | 2 | 3] + contentSize;
        this.frames++;
        // The rest of the header (≤ 13 bytes) is passed over: the block headers are what we need.
        this.skip = rest;
        this.expect("block-header", 3);
        return;
      }
      case "block-header": {
        const header = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const type = (header >> 1) & 3;
        if (type === BLOCK_TYPE_RESERVED) throw new ZstdFormatError("corrupt zstd block header");
        this.skip = type === BLOCK_TYPE_RLE ? 1 : header >>> 3;
        if (header & 1) {
          // Last block: then the optional checksum, then the next frame.
          if (this.checksum) this.skip += CHECKSUM_BYTES;
          this.expect("magic", 4);
        }
        return;
      }
    }
  }
}
