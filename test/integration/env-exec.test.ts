// What create accepts as env, exec exports: every value the validator lets through (quotes, newlines, shell
// syntax, non-ASCII, empty, long) reaches the command byte for byte in a real guest, so no accepted env can make
// exec fail later.
import { describe, expect, test } from "bun:test";
import type { TestService } from "../harness.ts";
import { bootGuest, exec, withGuestService } from "./guest.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

const ENV = {
  QUOTES: `it's "quoted"`,
  SHELL_SYNTAX: "$HOME `id` $(id) ; | & > < * ? [ ] ~ # \\",
  NEWLINES: "line one\nline two\n\ttabbed\r\n",
  UNICODE: "grüße 🎉 日本",
  EMPTY: "",
  _UNDERSCORE_1: "x",
  PATHLIKE: "/usr/bin:/bin",
  LONG: "y".repeat(16 * 1024),
};

describe("env through exec", () => {
  test("every accepted variable arrives as given", async () => {
    await bootGuest(svc, "env-guest", { env: ENV });
    for (const [name, value] of Object.entries(ENV)) {
      // printf %s keeps trailing newlines that echo and $(…) would add or strip.
      const out = await exec(svc, "env-guest", `printf %s "$${name}"`);
      expect({ name, value: out.stdout }).toEqual({ name, value });
      expect(out.exit_code).toBe(0);
    }
  });
});
