import { expect, test } from "bun:test";
import fc from "fast-check";
import { redactHostPaths } from "./redact-paths.ts";

const DATA = "/var/lib/snapvisor";

test("paths outside the data dir become <path>, inside it relative to it", () => {
  expect(redactHostPaths("ENOENT: no such file or directory, open '/etc/shadow'", DATA)).toBe(
    "ENOENT: no such file or directory, open '<path>'",
  );
  expect(redactHostPaths("qemu: could not open /home/alice/img.raw: Permission denied", DATA)).toBe(
    "qemu: could not open <path>: Permission denied",
  );
  expect(redactHostPaths(`copy ${DATA}/guests/abc/disk.raw failed`, DATA)).toBe("copy <data>/guests/abc/disk.raw failed");
  expect(redactHostPaths(`data dir ${DATA} has 3 GB free.`, DATA)).toBe("data dir <data> has 3 GB free.");
  // A path that climbs out of the data dir is outside it, whatever it starts with.
  expect(redactHostPaths(`${DATA}/../../../etc/passwd`, DATA)).toBe("<path>");
  // A sibling whose name merely starts like the data dir is outside it.
  expect(redactHostPaths(`${DATA}-old/x`, DATA)).toBe("<path>");
  expect(redactHostPaths("source file:///root/x.raw", DATA)).toBe("source file:<path>");
});

test("text without absolute paths is unchanged", () => {
  for (const text of ["size must be 1/2 of host memory", "and/or", "relative/path.txt", "1.5 GiB", "ok"]) {
    expect(redactHostPaths(text, DATA)).toBe(text);
  }
});

test("no absolute path outside the data dir survives, whatever surrounds it", () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
  const hostPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join("/")}`);
  const prose = fc.stringMatching(/^[A-Za-z ,:'"()]{0,20}$/);
  fc.assert(
    fc.property(prose, hostPath, prose, (before, path, after) => {
      fc.pre(!path.startsWith(`${DATA}/`) && path !== DATA);
      const out = redactHostPaths(`${before} ${path} ${after}`, DATA);
      expect(out).not.toContain(path);
    }),
    { seed: 11, numRuns: 500 },
  );
});
