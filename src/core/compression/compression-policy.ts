// Snapshot compression configuration: normalisation and precedence (reference §3.12, §7.1, §7.2). Algorithms and
// level ranges come from the codec table; the stored shapes from the schema.
import { CODEC_NAMES, CODECS, type CodecName } from "../../store/codecs/codec-table.ts";
import type { CompressionConfig, EnabledCompression, SnapshotPolicy } from "../../store/schema.ts";
import { invalidRequest } from "../errors.ts";

export type { CompressionConfig, SnapshotPolicy };

/** As it arrives on the wire or in config: algorithm in any case, level optional. */
export interface CompressionConfigInput {
  enabled: boolean;
  algorithm?: string;
  level?: number;
}

/** When and how an instance's standby memory is compressed. */
export interface StandbyPlan {
  policy: EnabledCompression;
  delayMs: number;
}

/**
 * Validates algorithm and level even when `enabled` is false (the reference rejects them either way), then
 * normalises. `code` is the wire code of the 400 (`invalid_snapshot_compression`, `invalid_snapshot_policy`…).
 */
export function normalizeCompression(input: CompressionConfigInput, code = "invalid_request"): CompressionConfig {
  const algorithm = (input.algorithm ?? "zstd").toLowerCase();
  if (!isCodecName(algorithm)) {
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
export function resolveCompression(...candidates: (CompressionConfig | undefined | null)[]): EnabledCompression | undefined {
  const winner = candidates.find((c) => c != null);
  return winner?.enabled ? winner : undefined;
}

/** Standby compression policy and delay: request → instance policy → server default. */
export function standbyPlan(
  instancePolicy: SnapshotPolicy | null,
  request: { compression?: CompressionConfig; compressionDelayMs?: number },
  serverDefault: CompressionConfig | undefined,
): StandbyPlan | undefined {
  const policy = resolveCompression(request.compression, instancePolicy?.compression, serverDefault);
  if (!policy) return undefined;
  return { policy, delayMs: request.compressionDelayMs ?? instancePolicy?.standbyCompressionDelayMs ?? 0 };
}

function isCodecName(value: string): value is CodecName {
  return (CODEC_NAMES as readonly string[]).includes(value);
}
