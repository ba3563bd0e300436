import { expect, test } from "bun:test";
import { parseChVersion, restoreRefusal, supportsRestoreResume } from "./version.ts";

test("parseChVersion reads release and git-build outputs", () => {
  expect(parseChVersion("cloud-hypervisor v53.0\n")).toEqual({ major: 53, minor: 0, text: "53.0" });
  expect(parseChVersion("cloud-hypervisor v51.1-246-gae44c29")).toEqual({ major: 51, minor: 1, text: "51.1" });
  expect(parseChVersion("cloud-hypervisor")).toBeNull();
});

test("resume/memory_restore_mode only from v52", () => {
  expect(supportsRestoreResume(parseChVersion("v51.1")!)).toBe(false);
  expect(supportsRestoreResume(parseChVersion("v52.0")!)).toBe(true);
});

test("only the exact version that wrote a snapshot restores it", () => {
  const host = parseChVersion("v51.1")!;
  expect(restoreRefusal("51.1", host)).toBeNull();
  expect(restoreRefusal("51.2", host)).toContain("written by cloud-hypervisor 51.2; this host runs 51.1");
  expect(restoreRefusal("53.0", host)).not.toBeNull();
});
