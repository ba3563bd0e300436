// Ids never become paths unless they are one safe component, and every socket path fits sun_path.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DataPaths, isImageDirName, isSafeId, MAX_SOCKET_PATH, UnsafePathError } from "./paths.ts";

describe("paths", () => {
  test("only single safe components are accepted as ids", () => {
    for (const bad of ["", ".", "..", "a/b", "/abs", "../x", "A", "1abc", "a b", "a\u0000b", "x".repeat(64)]) {
      expect(isSafeId(bad)).toBe(false);
    }
    expect(isSafeId("lb6c4w2jd0yq1x8m3n5p7r9t")).toBe(true);
    const p = new DataPaths("/data");
    expect(() => p.snapshot("..")).toThrow(UnsafePathError);
    expect(() => p.guest("a/../../etc")).toThrow(UnsafePathError);
    expect(p.snapshotGuest("abc")).toBe("/data/snapshots/abc/guest");
  });

  test("guest sockets stay under the 108-byte Unix limit for a data dir of up to 50 characters", () => {
    const root = `/${"d".repeat(49)}`;
    const guest = new DataPaths(root).guest("x".repeat(24));
    for (const socket of ["qmp.sock", "agent.sock", "api.sock"]) {
      expect(Buffer.byteLength(join(guest, socket))).toBeLessThanOrEqual(MAX_SOCKET_PATH);
    }
    expect(Buffer.byteLength(new DataPaths(root).socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH);
  });
});

test("a data dir too long for guest sockets is refused up front", () => {
  expect(() => new DataPaths(`/tmp/${"d".repeat(80)}`).ensure()).toThrow(/too long/);
});

test("image dirs: an image name, or one with a generation suffix of twelve hex digits", () => {
  for (const ok of ["default", "my-image", "default@0aa524c06af2"]) expect(isImageDirName(ok)).toBe(true);
  for (const bad of ["default@", "default@0aa524c06af", "default@0AA524C06AF2", "@0aa524c06af2", "..@0aa524c06af2", "a/b@0aa524c06af2", "default@0aa524c06af2@0aa524c06af2"]) {
    expect(isImageDirName(bad)).toBe(false);
  }
  const p = new DataPaths("/data");
  expect(p.imageGeneration("default@0aa524c06af2")).toBe("/data/images/default@0aa524c06af2");
  expect(() => p.imageGeneration("default")).toThrow(UnsafePathError);
  expect(() => p.imageGeneration("../x@0aa524c06af2")).toThrow(UnsafePathError);
});
