// Plain-text tables for people (the CLI prints JSON with --json). Byte counts (`*_bytes` columns) are shown
// rounded in binary units, under the column name without the suffix.
const BYTES_SUFFIX = "_bytes";
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (c.endsWith(BYTES_SUFFIX) && typeof r[c] === "number" ? humanBytes(r[c]) : format(r[c]))));
  const headers = columns.map((c) => (c.endsWith(BYTES_SUFFIX) ? c.slice(0, -BYTES_SUFFIX.length) : c).toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** 1170321131 → "1.1 GiB", 4608 → "4.5 KiB", 512 → "512 B". */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

function format(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "object") return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${x}`).join(",") || "-";
  return String(v);
}
