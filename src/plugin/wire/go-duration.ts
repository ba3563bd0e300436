// Go duration strings are part of the wire format (`interval`, `max_age`, compression delays; reference §12.8):
// clients send what Go's time.ParseDuration accepts and expect what time.Duration.String() prints. This is a
// port of both, exact in integer nanoseconds (bigint, Go's int64 range); the rest of snapvisor uses milliseconds.

/** The message is Go's, so a client sees the same text as from the reference server. */
export class GoDurationError extends Error {
  override readonly name = "GoDurationError";
}

const NS_PER_MS = 1_000_000n;
const NS_PER_MS_FLOAT = 1e6;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** Go accumulates in uint64 and allows magnitudes up to 1<<63 (the most negative int64) until the sign is applied. */
const MAGNITUDE_MAX = 1n << 63n;

const NANOSECOND = 1n;
const MICROSECOND = 1000n * NANOSECOND;
const MILLISECOND = 1000n * MICROSECOND;
const SECOND = 1000n * MILLISECOND;

// A Map, not an object literal, so a unit such as "constructor" is unknown rather than found on the prototype.
const UNITS = new Map<string, bigint>([
  ["ns", NANOSECOND],
  ["us", MICROSECOND],
  ["\u00b5s", MICROSECOND], // micro sign
  ["\u03bcs", MICROSECOND], // Greek small letter mu
  ["ms", MILLISECOND],
  ["s", SECOND],
  ["m", 60n * SECOND],
  ["h", 3600n * SECOND],
]);

/** Parses a Go duration into milliseconds (fractional below 1 ms: "1.5us" is 0.0015). */
export function parseGoDuration(s: string): number {
  // Division (not * 1e-6) gives the double nearest the exact value: 1500ns is exactly the literal 0.0015.
  return Number(parseGoDurationNs(s)) / NS_PER_MS_FLOAT;
}

/** Formats milliseconds (rounded to the nearest nanosecond) as Go's time.Duration.String() does. */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(msToNs(ms));
}

function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`duration ${ms} ms is not a finite number`);
  // Whole milliseconds convert exactly even beyond 2^53 ns; only the sub-millisecond part is rounded.
  const abs = Math.abs(ms);
  const whole = Math.trunc(abs);
  const ns = BigInt(whole) * NS_PER_MS + BigInt(Math.round((abs - whole) * NS_PER_MS_FLOAT));
  const signed = ms < 0 ? -ns : ns;
  if (signed < INT64_MIN || signed > INT64_MAX) throw new RangeError(`duration ${ms} ms is outside Go's range`);
  return signed;
}

/** time.ParseDuration, to integer nanoseconds. */
export function parseGoDurationNs(orig: string): bigint {
  const invalid = () => new GoDurationError(`time: invalid duration ${quote(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();

  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) throw invalid();

    const int = leadingInt(s);
    if (int === undefined) throw invalid();
    const pre = int.rest.length !== s.length;
    let v = int.value;
    s = int.rest;

    let post = false;
    let frac = { value: 0n, scale: 1, rest: s };
    if (s[0] === ".") {
      s = s.slice(1);
      frac = leadingFraction(s);
      post = frac.rest.length !== s.length;
      s = frac.rest;
    }
    if (!pre && !post) throw invalid(); // no digits, e.g. ".s"

    let i = 0;
    while (i < s.length && s[i] !== "." && !isDigit(s[i])) i++;
    if (i === 0) throw new GoDurationError(`time: missing unit in duration ${quote(orig)}`);
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNITS.get(u);
    if (unit === undefined) throw new GoDurationError(`time: unknown unit ${quote(u)} in duration ${quote(orig)}`);

    if (v > MAGNITUDE_MAX / unit) throw invalid();
    v *= unit;
    if (frac.value > 0n) {
      // Go does this step in float64 (accurate to the nanosecond even for fractions of hours) and truncates.
      v += BigInt(Math.trunc(Number(frac.value) * (Number(unit) / frac.scale)));
      if (v > MAGNITUDE_MAX) throw invalid();
    }
    d += v;
    if (d > MAGNITUDE_MAX) throw invalid();
  }
  if (neg) return -d;
  if (d > INT64_MAX) throw invalid();
  return d;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** Leading [0-9]*; undefined on overflow past 1<<63. */
function leadingInt(s: string): { value: bigint; rest: string } | undefined {
  let x = 0n;
  let i = 0;
  for (; i < s.length && isDigit(s[i]); i++) {
    x = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (x > MAGNITUDE_MAX) return undefined;
  }
  return { value: x, rest: s.slice(i) };
}

/** Leading [0-9]* after a decimal point; past int64 precision the remaining digits are consumed and ignored. */
function leadingFraction(s: string): { value: bigint; scale: number; rest: string } {
  let x = 0n;
  let scale = 1;
  let overflow = false;
  let i = 0;
  for (; i < s.length && isDigit(s[i]); i++) {
    if (overflow) continue;
    if (x > INT64_MAX / 10n) {
      overflow = true;
      continue;
    }
    const y = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (y > MAGNITUDE_MAX) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  return { value: x, scale, rest: s.slice(i) };
}

const utf8 = new TextEncoder();

/** Go's time.quote: printable ASCII as is (with `"` and `\` escaped), every other byte of the UTF-8 as \xNN. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code >= 0x80) {
      for (const byte of utf8.encode(ch)) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    } else {
      out += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}

/** time.Duration.String() of integer nanoseconds. */
export function formatGoDurationNs(d: bigint): string {
  if (d < INT64_MIN || d > INT64_MAX) throw new RangeError(`duration ${d}ns is outside Go's range`);
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < SECOND) {
    // Below one second Go switches to smaller units, like 1.2ms.
    if (u === 0n) return "0s";
    let unit: string;
    let prec: number;
    if (u < MICROSECOND) [unit, prec] = ["ns", 0];
    else if (u < MILLISECOND) [unit, prec] = ["\u00b5s", 3];
    else [unit, prec] = ["ms", 6];
    const frac = fmtFrac(u, prec);
    out = `${frac.whole}${frac.text}${unit}`;
  } else {
    const frac = fmtFrac(u, 9);
    u = frac.whole; // whole seconds
    out = `${u % 60n}${frac.text}s`;
    u /= 60n; // whole minutes
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n; // whole hours; Go stops here because days vary in length
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's fmtFrac: the fraction of v/10^prec as ".123" without trailing zeros ("" when zero), and the integer part. */
function fmtFrac(v: bigint, prec: number): { text: string; whole: bigint } {
  let text = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print ||= digit !== 0n;
    if (print) text = `${digit}${text}`;
    v /= 10n;
  }
  return { text: print ? `.${text}` : "", whole: v };
}
