import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { contains, formatIpv4, gatewayOf, macFrom, overlaps, parseIpv4, parseSubnet, pickAddress, subnetSize } from "./address-pool.ts";

const subnetArb = fc.record({ ip: fc.integer({ min: 0, max: 2 ** 32 - 1 }), prefix: fc.integer({ min: 16, max: 30 }) }).map(({ ip, prefix }) => parseSubnet(`${formatIpv4(ip)}/${prefix}`));

describe("IPv4", () => {
  test("parse and format are inverse", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => expect(parseIpv4(formatIpv4(n))).toBe(n)));
  });
  test("malformed addresses and CIDRs throw", () => {
    for (const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d", "1.2.3.4.5"]) expect(() => parseIpv4(bad)).toThrow();
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/x", "10.0.0.0/8/1"]) expect(() => parseSubnet(bad)).toThrow();
  });
  test("a subnet overlaps one it contains, not a disjoint one", () => {
    expect(overlaps(parseSubnet("10.100.0.0/16"), parseSubnet("10.100.7.0/24"))).toBe(true);
    expect(overlaps(parseSubnet("10.100.0.0/16"), parseSubnet("10.101.0.0/16"))).toBe(false);
  });
});

describe("pickAddress", () => {
  test("never returns the network, gateway, broadcast or a taken address, and fills the subnet exactly", () => {
    fc.assert(
      fc.property(subnetArb.filter((s) => s.prefix >= 26), fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 80 }), (subnet, randoms) => {
        const gateway = gatewayOf(subnet, "");
        const taken = new Set<number>();
        for (const r of randoms) {
          const ip = pickAddress(subnet, gateway, taken, r);
          if (ip === null) {
            expect(taken.size).toBe(subnetSize(subnet) - 3);
            return;
          }
          expect(contains(subnet, ip)).toBe(true);
          expect([subnet.base, gateway, subnet.base + subnetSize(subnet) - 1, ...taken]).not.toContain(ip);
          taken.add(ip);
        }
      }),
    );
  });
  test("a /30 has one guest address beside its gateway", () => {
    const subnet = parseSubnet("192.168.5.0/30");
    const gw = gatewayOf(subnet, "");
    expect(formatIpv4(pickAddress(subnet, gw, new Set(), 0.7)!)).toBe("192.168.5.2");
    expect(pickAddress(subnet, gw, new Set([parseIpv4("192.168.5.2")]), 0.1)).toBeNull();
  });
  test("a configured gateway outside the subnet is refused", () => {
    expect(() => gatewayOf(parseSubnet("10.0.0.0/24"), "10.0.1.1")).toThrow(/outside/);
  });
});

test("MACs are locally administered unicast and distinct for distinct bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.uint8Array({ minLength: 5, maxLength: 5 }), (a, b) => {
      const ma = macFrom(a);
      expect(ma).toMatch(/^02(:[0-9a-f]{2}){5}$/);
      expect(ma === macFrom(b)).toBe(a.every((x, i) => x === b[i]));
    }),
  );
});
