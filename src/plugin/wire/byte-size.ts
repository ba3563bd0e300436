// Instance `size` and `overlay_size` are human size strings on the wire ("512MB", "1GB"). The reference parses
// them with docker/go-units RAMInBytes, whose units are binary whatever their spelling (k, kb and kib are all 1024),
// and we echo them back in the same units, exactly (go-units' HumanSize rounds, which would misreport a size).

export class ByteSizeError extends Error {
  override readonly name = "ByteSizeError";
}

const KiB = 1024;
const UNIT_BYTES: Record<string, number> = { k: KiB, m: KiB ** 2, g: KiB ** 3, t: KiB ** 4, p: KiB ** 5 };
/** Largest first, as formatByteSize tries them. */
const FORMAT_UNITS = [
  ["PB", KiB ** 5],
  ["TB", KiB ** 4],
  ["GB", KiB ** 3],
  ["MB", KiB ** 2],
  ["KB", KiB],
] as const;

// A decimal number, then at most one space, then an optional unit of letters.
const SIZE_PATTERN = /^(\d+(?:\.\d*)?|\.\d+)( ?)([A-Za-z]*)$/;

/** Parses "512MB", "1.5 GiB", "2g", "1024" (bytes) to a whole number of bytes (fractions of a byte are dropped, as go-units does). */
export function parseByteSize(s: string): number {
  const fail = (reason: string) => new ByteSizeError(`invalid size ${JSON.stringify(s)}: ${reason}`);
  if (s === "") throw fail("empty");
  if (s.startsWith("-")) throw fail("must not be negative");
  const m = SIZE_PATTERN.exec(s);
  if (!m) throw fail("expected a number followed by an optional unit (B, KB, MB, GB, TB, PB)");
  const [, num, space, unit] = m as unknown as [string, string, string, string];
  if (space && !unit) throw fail("expected a unit after the space");
  const bytes = Math.trunc(Number(num) * unitBytes(unit, fail));
  if (!Number.isSafeInteger(bytes)) throw fail("too large");
  return bytes;
}

/** go-units suffix rules: "" or "b" is bytes; otherwise k/m/g/t/p alone, or followed by "b" or "ib". */
function unitBytes(unit: string, fail: (reason: string) => ByteSizeError): number {
  const u = unit.toLowerCase();
  if (u === "" || u === "b") return 1;
  const multiple = UNIT_BYTES[u[0]!];
  const rest = u.slice(1);
  if (multiple === undefined || !(rest === "" || rest === "b" || rest === "ib")) {
    throw fail(`unknown unit ${JSON.stringify(unit)}`);
  }
  return multiple;
}

/** The shortest exact form in the largest unit that divides the size: 1 GiB is "1GB", 1.5 GiB is "1536MB". */
export function formatByteSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`byte size ${bytes} is not a non-negative integer`);
  if (bytes > 0) {
    for (const [unit, size] of FORMAT_UNITS) {
      if (bytes % size === 0) return `${bytes / size}${unit}`;
    }
  }
  return `${bytes}B`;
}
