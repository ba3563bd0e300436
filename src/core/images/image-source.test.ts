import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError } from "../errors.ts";
import { isUnder, resolveImageSource } from "./image-source.ts";

const segment = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== "." && s !== "..");
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join("/")}`);

describe("isUnder", () => {
  test("a path is under a root exactly when the root is one of its proper ancestors", () => {
    fc.assert(
      fc.property(path, path, (root, rest) => {
        expect(isUnder(root + rest, [root])).toBe(true);
        expect(isUnder(root, [root])).toBe(false); // the root itself is a directory, never a source
        // A sibling that merely shares the root's spelling as a prefix is outside ("/a/b" vs "/a/bc/x").
        expect(isUnder(`${root}x${rest}`, [root])).toBe(false);
      }),
    );
  });

  test("a root of / contains every other absolute path", () => {
    fc.assert(fc.property(path, (p) => expect(isUnder(p, ["/"])).toBe(true)));
  });
});

describe("resolveImageSource", () => {
  const dir = mkdtempSync(join(tmpdir(), "sv-src-"));
  const root = join(dir, "root");
  mkdirSync(root);
  writeFileSync(join(root, "kernel"), "12345");
  symlinkSync(join(root, "kernel"), join(dir, "outside-link-to-inside"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const status = async (p: string) =>
    resolveImageSource([root], "kernel", p).then(
      () => "ok",
      (err: DomainError) => err.kind,
    );

  test("resolves to the real file and what it costs on disk", async () => {
    const source = await resolveImageSource([root], "kernel", join(root, ".", "kernel"));
    expect(source.path).toBe(join(root, "kernel"));
    expect(source.allocatedBytes).toBeGreaterThanOrEqual(0);
  });

  test("what counts is where a link lands, not where it sits", async () => {
    expect(await status(join(dir, "outside-link-to-inside"))).toBe("ok");
    expect(await status(join(root, "..", "root", "kernel"))).toBe("ok");
    expect(await status(join(root, "..", "elsewhere"))).toBe("forbidden");
  });

  test("a root that does not exist holds nothing", async () => {
    await expect(resolveImageSource([join(dir, "missing-root")], "initrd", join(root, "kernel"))).rejects.toMatchObject({ kind: "forbidden" });
  });
});
