import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ENV_NAME_PATTERN } from "../../hv/guest-agent/index.ts";
import { EnvSchema, envProblem, MAX_ENV_BYTES, MAX_ENV_ENTRIES, MAX_ENV_NAME_CHARS } from "./env.ts";

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/).filter((n) => n !== "__proto__");
const valueWithoutNul = fc.string({ unit: "grapheme", maxLength: 60 }).filter((v) => !v.includes("\0"));

describe("env names and values (what exec exports in the guest shell)", () => {
  test("any set of shell identifiers with NUL-free values within the limits is accepted as given", () => {
    fc.assert(
      fc.property(fc.dictionary(identifier, valueWithoutNul, { maxKeys: 20 }), (env) => {
        expect(envProblem(env)).toBeUndefined();
        expect(EnvSchema.parse(env)).toEqual(env);
      }),
    );
  });

  test("a name that is not a shell identifier is refused, naming it", () => {
    const notIdentifier = fc.string({ maxLength: 20 }).filter((n) => !ENV_NAME_PATTERN.test(n));
    fc.assert(
      fc.property(notIdentifier, valueWithoutNul, (name, value) => {
        expect(envProblem({ OK: "x", [name]: value })).toContain(`invalid name ${JSON.stringify(name)}`);
        expect(EnvSchema.safeParse({ [name]: value }).success).toBe(false);
      }),
    );
  });

  test("a value holding a NUL anywhere is refused, naming its key", () => {
    fc.assert(
      fc.property(identifier, fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), (name, before, after) => {
        expect(envProblem({ [name]: `${before}\0${after}` })).toBe(`value of ${JSON.stringify(name)} contains a NUL character`);
      }),
    );
  });

  test("the limits are inclusive: at the limit accepted, one past it refused", () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, ""]));
    expect(envProblem(many(MAX_ENV_ENTRIES))).toBeUndefined();
    expect(envProblem(many(MAX_ENV_ENTRIES + 1))).toMatch(/too many variables/);
    expect(envProblem({ ["N".repeat(MAX_ENV_NAME_CHARS)]: "" })).toBeUndefined();
    expect(envProblem({ ["N".repeat(MAX_ENV_NAME_CHARS + 1)]: "" })).toMatch(/longer than/);
    expect(envProblem({ A: "x".repeat(MAX_ENV_BYTES - 1) })).toBeUndefined();
    expect(envProblem({ A: "x".repeat(MAX_ENV_BYTES) })).toMatch(/take 65537 bytes/);
  });

  test("non-objects are left to the record schema, which refuses them", () => {
    for (const env of [null, "A=B", ["A"], 5]) {
      expect(envProblem(env)).toBeUndefined();
      expect(EnvSchema.safeParse(env).success).toBe(false);
    }
  });
});
