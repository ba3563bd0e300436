// Wire values that need parsing with the reference's error codes (sizes, Go durations, compression configs).
import { ByteSizeError, parseByteSize } from "./byte-size.ts";
import { normalizeCompression, type CompressionConfig, type CompressionConfigInput, type SnapshotPolicy } from "../../core/compression/compression-policy.ts";
import { invalidRequest } from "../../core/errors.ts";
import { GoDurationError, parseGoDuration } from "./go-duration.ts";
import { BandwidthError, parseBandwidth } from "./bandwidth.ts";

export function byteSize(value: string, field: string): number {
  try {
    return parseByteSize(value);
  } catch (err) {
    if (err instanceof ByteSizeError) throw invalidRequest(`${field}: ${err.message}`);
    throw err;
  }
}

/** A non-negative Go duration in ms; the codes are the wire codes of the 400s (unparseable, negative). */
export function delay(value: string, field: string, code = "invalid_request", negativeCode = code): number {
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch (err) {
    if (err instanceof GoDurationError) throw invalidRequest(`${field} must be a valid duration: ${err.message}`, code);
    throw err;
  }
  if (ms < 0) throw invalidRequest(`${field} cannot be negative`, negativeCode);
  return ms;
}

export function compression(input: CompressionConfigInput | undefined, code: string): CompressionConfig | undefined {
  return input === undefined ? undefined : normalizeCompression(input, code);
}

export function snapshotPolicy(
  input: { compression?: CompressionConfigInput; standby_compression_delay?: string } | undefined,
): SnapshotPolicy | undefined {
  if (input === undefined) return undefined;
  // Malformed values are `invalid_snapshot_policy`; a well-formed but invalid policy is `invalid_request` (§3.11).
  const policy: SnapshotPolicy = {};
  const c = compression(input.compression, "invalid_snapshot_policy");
  if (c) policy.compression = c;
  if (input.standby_compression_delay !== undefined) {
    policy.standbyCompressionDelayMs = delay(
      input.standby_compression_delay,
      "snapshot_policy.standby_compression_delay",
      "invalid_snapshot_policy",
      "invalid_request",
    );
  }
  return policy;
}

/** A bandwidth field (`bandwidth_download`…) in bytes/s; a bad one is 400 `invalid_<field>` (reference-network §1.1). */
export function bandwidth(value: string | undefined, field: "bandwidth_download" | "bandwidth_upload"): number {
  if (value === undefined) return 0;
  try {
    return parseBandwidth(value);
  } catch (err) {
    if (err instanceof BandwidthError) throw invalidRequest(`network.${field}: ${err.message}`, `invalid_${field}`);
    throw err;
  }
}
