// The codecs, one row each: file extension, level range and the two stream transforms. A new codec is one row
// here and one test. Levels follow reference §7.1 (zstd 1-19 default 1, lz4 0-9 default 0).
import { compressLz4Frame, decompressLz4Frames } from "./lz4-frame.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

export interface Codec {
  /** Suffix of the compressed file: `<raw path><extension>`. */
  extension: string;
  levels: { min: number; max: number; default: number };
  /**
   * Encodes a stream of chunks. Input chunks need only stay valid until the next pull; yielded pieces (of both
   * functions) must stay valid while the next piece is produced, so the caller can write one while it waits.
   */
  compress(chunks: AsyncIterable<Uint8Array>, level: number): AsyncGenerator<Uint8Array>;
  /** Decodes a stream of chunks (same validity rules as `compress`). */
  decompress(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array>;
}

export const CODECS = {
  zstd: {
    extension: ".zst",
    levels: { min: 1, max: 19, default: 1 },
    compress: compressZstd,
    decompress: decompressZstd,
  },
  lz4: {
    extension: ".lz4",
    // lz4-wasm (lz4_flex) has one fast mode and no HC: levels are accepted for the API and change nothing.
    levels: { min: 0, max: 9, default: 0 },
    compress: (chunks) => compressLz4Frame(chunks),
    decompress: decompressLz4Frames,
  },
} as const satisfies Record<string, Codec>;

export type CodecName = keyof typeof CODECS;
export const CODEC_NAMES = Object.keys(CODECS) as CodecName[];

/** The level to use: `level` if given (checked against the codec's range), else the codec's default. */
export function codecLevel(name: CodecName, level?: number): number {
  const { min, max, default: fallback } = CODECS[name].levels;
  const chosen = level ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new RangeError(`${name} level must be an integer between ${min} and ${max}, got ${chosen}`);
  }
  return chosen;
}
