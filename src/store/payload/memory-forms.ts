// The forms a memory file takes on disk: raw (`memory`, `memory-ranges`: the VMM's own name), compressed by one
// of the codecs (`<raw><extension>`), and in flight (`<final name>.tmp` while a codec writes it). Every name is
// derived from the codec table, so a new codec is a new form here without another list to update.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CODEC_NAMES, CODECS, type CodecName } from "../codecs/codec-table.ts";

/** Suffix of a memory file still being written (compressed output, decompressed raw). */
export const IN_FLIGHT_SUFFIX = ".tmp";

export type MemoryForm = { kind: "raw" } | { kind: "compressed"; codec: CodecName };

export function compressedPath(raw: string, codec: CodecName): string {
  return `${raw}${CODECS[codec].extension}`;
}

export function inFlightPath(path: string): string {
  return `${path}${IN_FLIGHT_SUFFIX}`;
}

/** `raw` (a path or a name) in every finished form: raw first, then one per codec. */
export function memoryFileForms(raw: string): string[] {
  return [raw, ...CODEC_NAMES.map((codec) => compressedPath(raw, codec))];
}

/** Compressed output still being written (`memory.zst.tmp`): never payload, whatever the raw name. */
export function isInFlightCompression(name: string): boolean {
  return CODEC_NAMES.some((codec) => name.endsWith(inFlightPath(CODECS[codec].extension)));
}

/** The form the memory of `dir` is stored in now; undefined when there is none. */
export function storedMemoryForm(dir: string, memoryFile: string): MemoryForm | undefined {
  const raw = join(dir, memoryFile);
  if (existsSync(raw)) return { kind: "raw" };
  const codec = CODEC_NAMES.find((c) => existsSync(compressedPath(raw, c)));
  return codec ? { kind: "compressed", codec } : undefined;
}
