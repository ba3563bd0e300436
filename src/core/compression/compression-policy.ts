// Snapshot compression configuration: normalisation and precedence (reference §3.12, §7.1, §7.2). Algorithms and
// level ranges come from the codec table.
import { CODEC_NAMES, CODECS, type CodecName } from "../../store/codecs/codec-table.ts";
import { invalidRequest } from "../errors.ts";

export const COMPRESSION_ALGORITHMS = CODEC_NAMES;
export type CompressionAlgorithm = CodecName;

/** As it arrives on the wire or in config: algorithm in any case, level optional. */
export interface CompressionConfigInput {
  enabled: boolean;
  algorithm?: string;
  level?: number;
}

/** Normalised: an enabled config always names its algorithm and level. */
export type CompressionConfig = { enabled: false } | { enabled: true; algorithm: CompressionAlgorithm; level: number };

/**
 * Validates algorithm and level even when `enabled` is false (the reference rejects them either way), then
 * normalises. `code` is the wire code of the 400 (`invalid_snapshot_compression`, `invalid_snapshot_policy`…).
 */
export function normalizeCompression(input: CompressionConfigInput, code = "invalid_request"): CompressionConfig {
  const algorithm = (input.algorithm ?? "zstd").toLowerCase();
  if (!isAlgorithm(algorithm)) {
    throw invalidRequest(`algorithm must be one of ${CODEC_NAMES.join(" or ")}, got ${JSON.stringify(input.algorithm)}`, code);
  }
  const range = CODECS[algorithm].levels;
  const level = input.level ?? range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw invalidRequest(`level must be between ${range.min} and ${range.max} for ${algorithm}, got ${level}`, code);
  }
  return input.enabled ? { enabled: true, algorithm, level } : { enabled: false };
}

/**
 * First configured candidate wins: request → instance policy → server default. An explicit disable at a higher
 * level wins over enabled defaults below; nothing configured means no compression (opt-in everywhere).
 */
export function resolveCompression(
  ...candidates: (CompressionConfig | undefined | null)[]
): Extract<CompressionConfig, { enabled: true }> | undefined {
  const winner = candidates.find((c) => c != null);
  return winner?.enabled ? winner : undefined;
}

function isAlgorithm(value: string): value is CompressionAlgorithm {
  return (COMPRESSION_ALGORITHMS as readonly string[]).includes(value);
}

/** The instance's snapshot policy as stored (normalised). */
export interface SnapshotPolicy {
  compression?: CompressionConfig;
  /** Delay before an instance's standby memory is compressed, in ms. */
  standbyCompressionDelayMs?: number;
}
