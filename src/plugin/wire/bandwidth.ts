// Bandwidth strings of `network.bandwidth_download` / `bandwidth_upload` (reference-network §1.1): a bit rate
// ("1Gbps", "100 Mbps") or a byte rate ("125MB/s", "1.5 GiB/s"); SI prefixes are powers of 1000, `Ki`/`Mi`/`Gi`/`Ti`
// powers of 1024. Responses carry the reference's form: bytes in 1024-based units with one decimal ("119.2 MB/s").

export class BandwidthError extends Error {
  override readonly name = "BandwidthError";
}

const PREFIX: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
const RATE_PATTERN = /^(\d+(?:\.\d+)?) ?(k|K|M|G|T|Ki|Mi|Gi|Ti)?(bps|B\/s)$/;

/** Bytes per second, rounded down. */
export function parseBandwidth(s: string): number {
  const m = RATE_PATTERN.exec(s);
  if (!m) throw new BandwidthError(`invalid bandwidth ${JSON.stringify(s)}: expected a rate such as 1Gbps, 100Mbps or 125MB/s`);
  const [, num, prefix = "", unit] = m as unknown as [string, string, string | undefined, string];
  const perSecond = Number(num) * PREFIX[prefix]!;
  const bytes = Math.floor(unit === "bps" ? perSecond / 8 : perSecond);
  if (!Number.isSafeInteger(bytes)) throw new BandwidthError(`invalid bandwidth ${JSON.stringify(s)}: too large`);
  return bytes;
}

const FORMAT_UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

export function formatBandwidth(bytesPerSec: number): string {
  const unit = Math.max(0, FORMAT_UNITS.findLastIndex((_, i) => bytesPerSec >= 1024 ** i));
  const value = bytesPerSec / 1024 ** unit;
  return `${unit === 0 ? value : value.toFixed(1)} ${FORMAT_UNITS[unit]}/s`;
}
