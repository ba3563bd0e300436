// POST /images copies only regular files under the image roots, after every symlink is resolved: a root-only
// host file, a device or a link out of a root is refused before it is opened, naming the field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type TestService } from "../harness.ts";

let svc: TestService;
let sources: string;
const outside = mkdtempSync(join(tmpdir(), "sv-outside-"));

beforeAll(async () => {
  svc = await startService();
  sources = join(svc.dataDir, "image-sources");
  mkdirSync(sources);
  writeFileSync(join(sources, "vmlinuz"), "a kernel");
  mkdirSync(join(sources, "subdir"));
  writeFileSync(join(outside, "secret"), "host secret");
  symlinkSync(join(outside, "secret"), join(sources, "link-out"));
  symlinkSync("/etc/passwd", join(sources, "link-passwd"));
  symlinkSync(join(sources, "vmlinuz"), join(sources, "link-in"));
});
afterAll(async () => {
  await svc.close();
  rmSync(outside, { recursive: true, force: true });
});

const register = (body: Record<string, unknown>) => svc.call("POST", "/images", { name: "img", ...body });

async function expectRefused(body: Record<string, unknown>, status: number, code: string, message: RegExp) {
  const res = await register(body);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.code).toBe(code);
  expect(res.body.message).toMatch(message);
  expect((await svc.call("GET", "/images/img")).status).toBe(404);
  expect(readdirSync(join(svc.dataDir, "tmp"))).toEqual([]);
}

describe("POST /images: sources under the image roots only", () => {
  test("a root-only host file is 403 forbidden naming the field; a missing file outside is the same 403", async () => {
    await expectRefused({ kernel: "/etc/shadow" }, 403, "forbidden", /^kernel: .*outside the image roots/);
    await expectRefused({ kernel: "/etc/no-such-file-here" }, 403, "forbidden", /^kernel: .*outside the image roots/);
    await expectRefused({ kernel: join(sources, "vmlinuz"), rootfs: "/etc/shadow" }, 403, "forbidden", /^rootfs: /);
    await expectRefused({ kernel: join(sources, "vmlinuz"), initrd: join(outside, "secret") }, 403, "forbidden", /^initrd: /);
  });

  test("a path that climbs out with .. is judged where it lands", async () => {
    await expectRefused({ kernel: join(sources, "..", "..", "..", "..", "etc", "passwd") }, 403, "forbidden", /^kernel: /);
  });

  test("a symlink from inside a root to outside is 403, whatever it points at", async () => {
    await expectRefused({ kernel: join(sources, "link-out") }, 403, "forbidden", /^kernel: .*outside the image roots/);
    await expectRefused({ kernel: join(sources, "link-passwd") }, 403, "forbidden", /^kernel: /);
  });

  test("devices and directories are 400 not a regular file; a missing file inside a root is 400", async () => {
    await expectRefused({ kernel: "/dev/zero" }, 400, "invalid_request", /^kernel: not a regular file/);
    await expectRefused({ kernel: join(sources, "subdir") }, 400, "invalid_request", /^kernel: not a regular file/);
    await expectRefused({ kernel: join(sources, "missing") }, 400, "invalid_request", /^kernel: no file at the given path/);
    await expectRefused({ kernel: "vmlinuz" }, 400, "invalid_request", /^kernel: must be an absolute path/);
    await expectRefused({ kernel: "/a\u0000b" }, 400, "invalid_request", /^kernel: must not contain NUL/);
    await expectRefused({ kernel: join(sources, "vmlinuz"), cmdline: "quiet\nrm" }, 400, "invalid_request", /^cmdline: /);
  });

  test("no error message shows a host path outside the data dir", async () => {
    for (const kernel of ["/etc/shadow", join(sources, "link-out"), "/dev/zero"]) {
      const res = await register({ kernel });
      expect(res.body.message).not.toContain(outside);
      expect(res.body.message).not.toContain("/etc/");
      expect(res.body.message).not.toContain("/dev/");
    }
  });

  test("a file inside a root, directly or through a link that stays inside, is copied", async () => {
    const res = await register({ name: "ok", kernel: join(sources, "link-in") });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(readFileSync(join(svc.dataDir, "images", "ok", "kernel-link-in"), "utf8")).toBe("a kernel");
  });
});

describe("configured image roots", () => {
  test("imageRoots replaces the defaults: files there are accepted, <data>/images no longer is", async () => {
    const root = mkdtempSync(join(tmpdir(), "sv-root-"));
    writeFileSync(join(root, "vmlinuz"), "another kernel");
    const own = await startService({ imageRoots: [root] });
    try {
      const ok = await own.call("POST", "/images", { name: "mine", kernel: join(root, "vmlinuz") });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      const inData = join(own.dataDir, "images", "mine", "kernel-vmlinuz");
      const refused = await own.call("POST", "/images", { name: "again", kernel: inData });
      expect(refused.status).toBe(403);
    } finally {
      await own.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
