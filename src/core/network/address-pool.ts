// IPv4 and MAC arithmetic for guest addresses (pure). A subnet's network, gateway and broadcast addresses are
// never handed out; MACs are locally administered unicast (02:…), so they never collide with real hardware.

export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new Error(`${JSON.stringify(s)} is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseSubnet(cidr: string): Subnet {
  const [ip, bits, ...rest] = cidr.split("/");
  const prefix = Number(bits);
  if (rest.length > 0 || ip === undefined || !/^\d{1,2}$/.test(bits ?? "") || prefix > 32) {
    throw new Error(`${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  }
  const size = 2 ** (32 - prefix);
  return { base: parseIpv4(ip) - (parseIpv4(ip) % size), prefix };
}

export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

export function contains(subnet: Subnet, ip: number): boolean {
  return ip - subnet.base >= 0 && ip - subnet.base < subnetSize(subnet);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/** The gateway: the configured one, or the subnet's first host address. */
export function gatewayOf(subnet: Subnet, configured: string): number {
  const gw = configured ? parseIpv4(configured) : subnet.base + 1;
  if (!contains(subnet, gw)) throw new Error(`gateway ${formatIpv4(gw)} is outside ${formatIpv4(subnet.base)}/${subnet.prefix}`);
  return gw;
}

/**
 * A free guest address: a random offset first (`random` in [0, 1)), then the next free one after it, wrapping.
 * Null when every host address is taken.
 */
export function pickAddress(subnet: Subnet, gateway: number, taken: Set<number>, random: number): number | null {
  const hosts = subnetSize(subnet) - 2; // minus network and broadcast
  const start = Math.floor(random * hosts);
  for (let i = 0; i < hosts; i++) {
    const ip = subnet.base + 1 + ((start + i) % hosts);
    if (ip !== gateway && !taken.has(ip)) return ip;
  }
  return null;
}

/** 02:xx:xx:xx:xx:xx from five random bytes. */
export function macFrom(bytes: Uint8Array): string {
  if (bytes.length < 5) throw new Error("a MAC needs five random bytes");
  return ["02", ...Array.from(bytes.subarray(0, 5), (b) => b.toString(16).padStart(2, "0"))].join(":");
}
