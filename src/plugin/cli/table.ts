// Plain-text tables for people (the CLI prints JSON with --json). Byte counts (`*_bytes` columns) are shown
// rounded in binary units, under the column name without the suffix unless the column names its own header.
const BYTES_SUFFIX = "_bytes";
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** A field of the rows, optionally shown under another header. */
export type Column = string | { key: string; header: string };

export function renderTable(rows: Record<string, unknown>[], columns: Column[]): string {
  const keys = columns.map((c) => (typeof c === "string" ? c : c.key));
  const cells = rows.map((r) => keys.map((k) => (k.endsWith(BYTES_SUFFIX) && typeof r[k] === "number" ? humanBytes(r[k]) : format(r[k]))));
  const headers = columns.map((c) => (typeof c === "string" ? c.replace(new RegExp(`${BYTES_SUFFIX}$`), "") : c.header).toUpperCase());
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
