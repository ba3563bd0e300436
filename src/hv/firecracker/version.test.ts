import { expect, test } from "bun:test";
import { parseSemVer, restoreRefusal } from "./version.ts";

const host = { release: parseSemVer("Firecracker v1.16.1")!, snapshotFormat: parseSemVer("v10.1.0")! };

test("parseSemVer reads --version and --snapshot-version outputs", () => {
  expect(parseSemVer("Firecracker v1.16.1\n\n")).toEqual({ major: 1, minor: 16, patch: 1, text: "1.16.1" });
  expect(parseSemVer("v10.0.0")?.text).toBe("10.0.0");
  expect(parseSemVer("Firecracker")).toBeNull();
});

test("same format major and an older or equal minor loads; anything else is refused", () => {
  expect(restoreRefusal("1.16.0", "10.0.0", host)).toBeNull();
  expect(restoreRefusal("1.16.1", "10.1.0", host)).toBeNull();
  expect(restoreRefusal("1.17.0", "10.2.0", host)).toContain("cannot be loaded by firecracker 1.16.1");
  expect(restoreRefusal("1.17.0", "11.0.0", host)).not.toBeNull();
  expect(restoreRefusal("1.14.2", "8.0.0", host)).not.toBeNull();
});

test("without a recorded format only the same release loads", () => {
  expect(restoreRefusal("1.16.1", undefined, host)).toBeNull();
  expect(restoreRefusal("1.16.0", undefined, host)).toContain("no snapshot format on record");
});
