import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DomainError } from "../errors.ts";
import { countsAsActivity, normalizeAutoStandby } from "./auto-standby-policy.ts";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as DomainError).code;
  }
  return "accepted";
};

describe("auto_standby policy", () => {
  test("disabled normalises to enabled:false; enabled needs a positive idle timeout", () => {
    expect(normalizeAutoStandby({ enabled: false, idleTimeoutMs: 5, ignoreDestinationPorts: [1] })).toEqual({ enabled: false, ignoreSourceCidrs: [], ignoreDestinationPorts: [] });
    expect(code(() => normalizeAutoStandby({ enabled: true }))).toBe("invalid_auto_standby");
    expect(code(() => normalizeAutoStandby({ enabled: true, idleTimeoutMs: 0 }))).toBe("invalid_auto_standby");
  });

  test("CIDRs and ports come back masked, unique and sorted, whatever order and repeats they came in", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))), fc.array(fc.integer({ min: 1, max: 65535 })), (cidrs, ports) => {
        const input = cidrs.map(([ip, bits]) => `${ip}/${bits}`);
        const p = normalizeAutoStandby({ enabled: true, idleTimeoutMs: 1000, ignoreSourceCidrs: [...input, ...input], ignoreDestinationPorts: [...ports].reverse() });
        expect(p.ignoreDestinationPorts).toEqual([...new Set(ports)].sort((a, b) => a - b));
        expect(p.ignoreSourceCidrs).toEqual([...new Set(p.ignoreSourceCidrs)].sort());
        expect(normalizeAutoStandby({ enabled: true, idleTimeoutMs: 1000, ignoreSourceCidrs: p.ignoreSourceCidrs })).toMatchObject({ ignoreSourceCidrs: p.ignoreSourceCidrs });
      }),
    );
  });

  test("any port outside 1-65535 and any non-CIDR string is invalid_auto_standby", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 })), (port) => {
        expect(code(() => normalizeAutoStandby({ enabled: true, idleTimeoutMs: 1, ignoreDestinationPorts: [port] }))).toBe("invalid_auto_standby");
      }),
    );
    fc.assert(
      fc.property(fc.string().filter((s) => !/^[0-9a-fA-F:.]+\/\d+$/.test(s.trim())), (s) => {
        expect(code(() => normalizeAutoStandby({ enabled: true, idleTimeoutMs: 1, ignoreSourceCidrs: [s] }))).toBe("invalid_auto_standby");
      }),
    );
  });

  test("ignored clients and ports do not count as activity", () => {
    const p = normalizeAutoStandby({ enabled: true, idleTimeoutMs: 1, ignoreSourceCidrs: ["10.0.0.0/8"], ignoreDestinationPorts: [9100] });
    expect(countsAsActivity(p, "10.2.3.4", 80)).toBe(false);
    expect(countsAsActivity(p, "127.0.0.1", 9100)).toBe(false);
    expect(countsAsActivity(p, "127.0.0.1", 80)).toBe(true);
    expect(countsAsActivity(null, "10.2.3.4", 9100)).toBe(true);
  });
});
