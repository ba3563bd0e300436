import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cidrContains, formatCidr, parseCidr } from "./cidr.ts";

const canonical = (s: string) => formatCidr(parseCidr(s)!);

describe("CIDRs", () => {
  test("masked to their network, in canonical form", () => {
    expect(canonical("10.1.2.3/8")).toBe("10.0.0.0/8");
    expect(canonical("192.168.1.77/32")).toBe("192.168.1.77/32");
    expect(canonical("2001:DB8:0:0:1::5/64")).toBe("2001:db8::/64");
    expect(canonical("::1/128")).toBe("::1/128");
    expect(canonical("::ffff:10.0.0.1/128")).toBe("::ffff:a00:1/128");
    for (const bad of ["10.0.0.0", "10.0.0.256/8", "10.0.0.0/33", "01.0.0.0/8", "1:2:3/64", "::1::/64", "x/1", "::/129"]) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });

  test("for any IPv4 address and prefix: canonical form is stable and contains the address", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, bits) => {
        const c = parseCidr(`${ip}/${bits}`)!;
        expect(canonical(formatCidr(c))).toBe(formatCidr(c));
        expect(cidrContains(c, ip)).toBe(true);
        expect(cidrContains(c, `::ffff:${ip}`)).toBe(true);
      }),
    );
  });

  test("for any IPv6 address and prefix: canonical form is stable and contains the address", () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, bits) => {
        const c = parseCidr(`${ip}/${bits}`)!;
        expect(c).toBeDefined();
        expect(canonical(formatCidr(c))).toBe(formatCidr(c));
        expect(cidrContains(c, ip)).toBe(true);
      }),
    );
  });

  test("an address outside the prefix is not contained", () => {
    expect(cidrContains(parseCidr("10.0.0.0/8")!, "11.0.0.1")).toBe(false);
    expect(cidrContains(parseCidr("10.0.0.0/8")!, "::1")).toBe(false);
    expect(cidrContains(parseCidr("fd00::/8")!, "fe80::1")).toBe(false);
  });
});
