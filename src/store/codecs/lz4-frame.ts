// LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) around lz4-wasm's block
// compressor and our block decoder, so that `lz4 -d` reads what we write and we read what `lz4` writes.
//
// Writer: one frame, FLG 0x60 (version 01, independent blocks, no checksums, no content size), BD 0x70 (4 MiB
// blocks), header checksum, blocks of ≤ 4 MiB (stored raw with bit 31 set when LZ4 would not shrink them),
// end mark. Reader: any sequence of frames and skippable frames, independent or linked blocks, any block size,
// optional content size (checked), block checksums (checked) and content checksum (skipped: Bun has no
// streaming xxHash32). Dictionary ids and the legacy format are refused.
import { LZ4_WASM_SIZE_PREFIX, compressBlock, loadLz4Wasm } from "./lz4-wasm-loader.ts";
import { Lz4FormatError, decodeLz4Block } from "./lz4-block.ts";

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames use magics 0x184D2A50-0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BD_4MIB = 0x70;
const STORED_BLOCK = 0x8000_0000;
/** Linked blocks may reference this much of the output that precedes them. */
const LINKED_HISTORY_BYTES = 64 << 10;

/** The block size our frames declare (BD 0x70); input chunks larger than this are split. */
export const LZ4_BLOCK_BYTES = 4 << 20;

/** Frame header: magic, FLG, BD and the header checksum (second byte of xxHash32 over FLG..BD). */
function frameHeader(): Uint8Array {
  const header = new Uint8Array(7);
  const view = new DataView(header.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  header[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENT;
  header[5] = BD_4MIB;
  header[6] = headerChecksum(header.subarray(4, 6));
  return header;
}

function headerChecksum(descriptor: Uint8Array): number {
  return (Bun.hash.xxHash32(descriptor) >>> 8) & 0xff;
}

/** One block with its length field: LZ4-compressed, or stored as is when compression would not shrink it. */
function encodeBlock(data: Uint8Array): Uint8Array {
  return compressBlock(data, (prefixed) => {
    const compressed = prefixed.subarray(LZ4_WASM_SIZE_PREFIX);
    const stored = compressed.length >= data.length;
    const payload = stored ? data : compressed;
    const block = new Uint8Array(4 + payload.length);
    new DataView(block.buffer).setUint32(0, stored ? (payload.length | STORED_BLOCK) >>> 0 : payload.length, true);
    block.set(payload, 4);
    return block;
  });
}

/** Encodes a stream of chunks as one LZ4 frame. Each chunk need only stay valid until the next pull. */
export async function* compressLz4Frame(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  await loadLz4Wasm();
  yield frameHeader();
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += LZ4_BLOCK_BYTES) yield encodeBlock(chunk.subarray(at, at + LZ4_BLOCK_BYTES));
  }
  yield new Uint8Array(4); // end mark
}

/**
 * Decodes every frame in a stream of chunks. Yielded pieces are views into two reused windows: each stays
 * valid while the next one is produced (the contract of Codec.decompress).
 */
export async function* decompressLz4Frames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  const input = new ExactReader(source);
  let frames = 0;
  try {
    for (;;) {
      const magicBytes = await input.read(4, { endOk: true });
      if (!magicBytes) break;
      const magic = u32(magicBytes);
      if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
        await input.read(u32(await input.read(4)));
        continue;
      }
      if (magic !== FRAME_MAGIC) throw new Lz4FormatError(`not an LZ4 frame (magic 0x${magic.toString(16)})`);
      frames++;
      yield* decodeFrame(input);
    }
    if (frames === 0) throw new Lz4FormatError("no LZ4 frame in the input");
  } finally {
    await source.return?.(); // lets the source release its file when we stop early
  }
}

interface FrameDescriptor {
  linked: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: bigint | undefined;
  blockMax: number;
}

async function readDescriptor(input: ExactReader): Promise<FrameDescriptor> {
  const [flg = 0, bd = 0] = await input.read(2);
  if ((flg & 0xc0) !== FLG_VERSION || flg & 0x02 || bd & 0x8f) throw new Lz4FormatError("unsupported LZ4 frame descriptor");
  if (flg & FLG_DICT_ID) throw new Lz4FormatError("LZ4 frames with a dictionary id are not supported");
  const sizeCode = (bd >>> 4) & 7;
  if (sizeCode < 4) throw new Lz4FormatError(`invalid LZ4 block size code ${sizeCode}`);
  const contentSizeBytes = flg & FLG_CONTENT_SIZE ? await input.read(8) : undefined;
  const [checksum] = await input.read(1);
  const descriptor = new Uint8Array([flg, bd, ...(contentSizeBytes ?? [])]);
  if (checksum !== headerChecksum(descriptor)) throw new Lz4FormatError("LZ4 frame header checksum mismatch");
  return {
    linked: !(flg & FLG_BLOCK_INDEPENDENT),
    blockChecksum: Boolean(flg & FLG_BLOCK_CHECKSUM),
    contentChecksum: Boolean(flg & FLG_CONTENT_CHECKSUM),
    contentSize: contentSizeBytes && new DataView(contentSizeBytes.buffer, contentSizeBytes.byteOffset).getBigUint64(0, true),
    blockMax: 1 << (8 + 2 * sizeCode), // 4 → 64 KiB … 7 → 4 MiB
  };
}

async function* decodeFrame(input: ExactReader): AsyncGenerator<Uint8Array> {
  const frame = await readDescriptor(input);
  // Output windows: [history of previous blocks (linked frames) | this block's output]. Two of them, used in
  // turn, so a yielded block stays intact while the next one is decoded (and written, by file-codec).
  const history = frame.linked ? LINKED_HISTORY_BYTES : 0;
  const windows = [new Uint8Array(history + frame.blockMax), new Uint8Array(history + frame.blockMax)] as const;
  let current = 0;
  let previousEnd = history;
  let decoded = 0;
  for (;;) {
    const field = u32(await input.read(4));
    if (field === 0) break; // end mark
    const length = (field & ~STORED_BLOCK) >>> 0;
    if (length > frame.blockMax) throw new Lz4FormatError(`LZ4 block of ${length} bytes exceeds the frame's ${frame.blockMax}`);
    const block = await input.read(length);
    if (frame.blockChecksum && u32(await input.read(4)) !== Bun.hash.xxHash32(block)) {
      throw new Lz4FormatError("LZ4 block checksum mismatch");
    }
    const window = windows[current]!;
    if (history) window.set(windows[current ^ 1]!.subarray(previousEnd - history, previousEnd)); // last 64 KiB so far
    let end: number;
    if (field & STORED_BLOCK) {
      window.set(block, history);
      end = history + length;
    } else {
      end = decodeLz4Block(block, window, history, window.length, history - Math.min(history, decoded));
    }
    decoded += end - history;
    yield window.subarray(history, end);
    previousEnd = end;
    current ^= 1;
  }
  if (frame.contentChecksum) await input.read(4);
  if (frame.contentSize !== undefined && frame.contentSize !== BigInt(decoded)) {
    throw new Lz4FormatError(`LZ4 frame declares ${frame.contentSize} bytes but holds ${decoded}`);
  }
}

const u32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);

/** Reads exact byte counts across input chunks that are only valid until the next pull (so it copies first). */
class ExactReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** `n` bytes; a view into the current chunk when it holds them all. Throws on a truncated input. */
  read(n: number): Promise<Uint8Array>;
  /** Like read(n), but resolves undefined when the input ended cleanly before the first byte. */
  read(n: number, options: { endOk: true }): Promise<Uint8Array | undefined>;
  async read(n: number, options?: { endOk: true }): Promise<Uint8Array | undefined> {
    if (this.chunk.length - this.at >= n) {
      this.at += n;
      return this.chunk.subarray(this.at - n, this.at);
    }
    const out = new Uint8Array(n);
    let filled = this.chunk.length - this.at;
    out.set(this.chunk.subarray(this.at));
    while (filled < n) {
      const next = await this.source.next();
      if (next.done) {
        if (filled === 0 && options?.endOk) return undefined;
        throw new Lz4FormatError("truncated LZ4 input");
      }
      const take = Math.min(n - filled, next.value.length);
      out.set(next.value.subarray(0, take), filled);
      filled += take;
      this.chunk = next.value;
      this.at = take;
    }
    return out;
  }
}
