import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DomainError } from "../errors.ts";
import { matchHostname, parseHostname } from "./hostname-pattern.ts";
import { normalizeRule, pathUnder, RESERVED_HEADERS, type IngressRuleInput } from "./rules.ts";

const rule = (over: Partial<IngressRuleInput> & { hostname?: string } = {}): IngressRuleInput => ({
  match: { hostname: over.hostname ?? "app.example.com", ...over.match },
  target: over.target ?? { instance: "web", port: 8080 },
  ...over,
});

const rejects = (r: IngressRuleInput): string => {
  try {
    normalizeRule(r, 0);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).kind).toBe("invalid_request");
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(r)}`);
};

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);

describe("ingress rule validation", () => {
  test("defaults: port 80, path /, no tls, no wake of stopped instances", () => {
    expect(normalizeRule(rule(), 0)).toEqual({
      match: { hostname: "app.example.com", port: 80, pathPrefix: "/" },
      target: { instance: "web", port: 8080 },
      tls: false,
      redirectHttp: false,
      wakeStopped: false,
    });
  });

  test("any port outside 1-65535 is refused, naming the field", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.double({ noInteger: true, noNaN: true })), (port) => {
        expect(rejects(rule({ target: { instance: "web", port } }))).toContain("rules[0].target.port");
        expect(rejects(rule({ match: { hostname: "a.b", port } }))).toContain("rules[0].match.port");
      }),
    );
  });

  test("a pattern's labels are whole captures; mixed and repeated captures are refused; the target names a capture", () => {
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(normalizeRule(rule({ hostname: `{instance}.${a}.${b}`, target: { instance: "{instance}", port: 80 } }), 0).match.hostname).toBe(`{instance}.${a}.${b}`);
        expect(rejects(rule({ hostname: `x{instance}.${a}`, target: { instance: "{instance}", port: 80 } }))).toContain("mixed captures");
        expect(rejects(rule({ hostname: `{i}.{i}.${a}`, target: { instance: "{i}", port: 80 } }))).toContain("duplicate capture");
        expect(rejects(rule({ hostname: `{i}.${a}`, target: { instance: "{other}", port: 80 } }))).toContain("target.instance");
        expect(rejects(rule({ hostname: `*.${a}` }))).toContain("match.hostname");
      }),
    );
  });

  test("redirect_http needs tls", () => {
    expect(rejects(rule({ redirectHttp: true }))).toContain("redirect_http");
    expect(normalizeRule(rule({ redirectHttp: true, tls: true }), 0).redirectHttp).toBe(true);
  });

  test("header auth: 32-256 printable bytes without whitespace, *, {, }; reserved names refused", () => {
    const ok = fc.stringMatching(/^[!-)+-z|~]{32,256}$/);
    fc.assert(fc.property(ok, (value) => void normalizeRule(rule({ requestHeaderAuth: { header: "X-Key", value } }), 0)));
    const bad = fc.oneof(
      fc.stringMatching(/^[!-)+-z|~]{0,31}$/),
      fc.stringMatching(/^[!-)+-z|~]{257,300}$/),
      fc.tuple(fc.stringMatching(/^[a-z]{32}$/), fc.constantFrom(" ", "*", "{", "}", "\t", "é")).map(([s, c]) => s + c),
    );
    fc.assert(fc.property(bad, (value) => void expect(rejects(rule({ requestHeaderAuth: { header: "X-Key", value } }))).toContain("request_header_auth.value")));
    for (const header of RESERVED_HEADERS) {
      expect(rejects(rule({ requestHeaderAuth: { header, value: "a".repeat(40) } }))).toContain("is reserved");
    }
  });

  test("path prefixes match on segment boundaries and lose a trailing slash", () => {
    expect(normalizeRule(rule({ match: { hostname: "a.b", pathPrefix: "/api/" } }), 0).match.pathPrefix).toBe("/api");
    expect(rejects(rule({ match: { hostname: "a.b", pathPrefix: "api" } }))).toContain("path_prefix");
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(pathUnder(`/${a}`, `/${a}`)).toBe(true);
        expect(pathUnder(`/${a}`, `/${a}/${b}`)).toBe(true);
        expect(pathUnder(`/${a}`, `/${a}${b}`)).toBe(false);
        expect(pathUnder("/", `/${b}`)).toBe(true);
      }),
    );
  });

  test("a pattern matches exactly as many labels and captures whole labels", () => {
    fc.assert(
      fc.property(label, label, (name, zone) => {
        const p = parseHostname(`{instance}.${zone}.test`, "h");
        expect(matchHostname(p, `${name}.${zone}.test`)).toEqual({ instance: name });
        expect(matchHostname(p, `x.${name}.${zone}.test`)).toBeUndefined();
        expect(matchHostname(p, `${zone}.test`)).toBeUndefined();
      }),
    );
  });
});
