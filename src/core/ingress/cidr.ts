// CIDRs as auto-standby's ignore_source_cidrs holds them (reference-network §4.1): parsed, masked to their
// canonical network, and tested against client addresses. IPv4 and IPv6; IPv4-mapped IPv6 clients count as IPv4.
export interface Cidr {
  v6: boolean;
  network: bigint;
  bits: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split("::").length > 2) return undefined;
  let tail = s;
  let v4: bigint | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = tail.split("::") as [string, string | undefined];
  const groups = (x: string) => (x === "" ? [] : x.split(":"));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const missing = 8 - h.length - r.length;
  if ((rest === undefined && missing !== 0) || (rest !== undefined && missing < 1)) return undefined;
  const all = [...h, ...Array(rest === undefined ? 0 : missing).fill("0"), ...r];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const n = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  return v4 === undefined ? n : (n & ~0xffffffffn) | v4;
}

const mask = (bits: number, width: number) => ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const bits = Number(m[2]);
  const v4 = parseV4(m[1]!);
  if (v4 !== undefined) return bits <= 32 ? { v6: false, network: v4 & mask(bits, 32), bits } : undefined;
  const v6 = parseV6(m[1]!);
  return v6 !== undefined && bits <= 128 ? { v6: true, network: v6 & mask(bits, 128), bits } : undefined;
}

export function formatCidr(c: Cidr): string {
  if (!c.v6) return `${[24n, 16n, 8n, 0n].map((s) => (c.network >> s) & 0xffn).join(".")}/${c.bits}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((c.network >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // RFC 5952: the longest run (2+) of zero groups becomes "::".
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const text = best.at < 0 ? groups.join(":") : `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
  return `${text}/${c.bits}`;
}

/** True when the client address lies in the CIDR. */
export function cidrContains(c: Cidr, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = parseV4(mapped ?? address);
  if (v4 !== undefined) return !c.v6 && (v4 & mask(c.bits, 32)) === c.network;
  const v6 = parseV6(address);
  return v6 !== undefined && c.v6 && (v6 & mask(c.bits, 128)) === c.network;
}
