// Configuration: defaults, file < env < options, validation at start-up (reference §7.1 item 26).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, remoteTargets, serverCompressionDefault } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadConfig", () => {
  test("defaults", () => {
    const c = loadConfig({}, {});
    expect(c.dataDir).toBe(join(process.cwd(), "data"));
    expect(c.hypervisors.qemu).toEqual({ binary: "qemu-system-x86_64", accel: "auto", machine: "pc-q35-7.2", memory: "file" });
    expect(c.scheduler).toEqual({ enabled: true, tickSeconds: 60 });
    expect(serverCompressionDefault(c)).toBeUndefined(); // disabled = absent
  });

  test("file < environment < options", () => {
    const yaml = join(dir, "c.yaml");
    writeFileSync(yaml, "dataDir: /srv/from-file\nlogLevel: warn\nscheduler:\n  tickSeconds: 30\ncompressionDefault:\n  enabled: true\n  algorithm: lz4\n");
    const env = { SNAPVISOR_DATA_DIR: "/srv/from-env", SNAPVISOR__SCHEDULER__TICK_SECONDS: "5", SNAPVISOR__HYPERVISORS__QEMU__ACCEL: "tcg" };
    const c = loadConfig({ configFile: yaml, logLevel: "debug" }, env);
    expect(c.dataDir).toBe("/srv/from-env");
    expect(c.logLevel).toBe("debug");
    expect(c.scheduler.tickSeconds).toBe(5);
    expect(c.hypervisors.qemu.accel).toBe("tcg");
    expect(serverCompressionDefault(c)).toEqual({ enabled: true, algorithm: "lz4", level: 0 });
    const json = join(dir, "c.json");
    writeFileSync(json, JSON.stringify({ listen: "127.0.0.1:7070" }));
    expect(loadConfig({}, { SNAPVISOR_CONFIG: json }).listen).toBe("127.0.0.1:7070");
  });

  test("imageRoots: the guest image dir, <dataDir>/image-sources and <dataDir>/images by default; a list, or a PATH-style variable, replaces them", () => {
    const defaults = loadConfig({ dataDir: "/srv/sv", guestImageDir: "/opt/guest" }, {});
    expect(defaults.imageRoots).toEqual(["/opt/guest", "/srv/sv/image-sources", "/srv/sv/images"]);
    expect(loadConfig({ imageRoots: ["rel/images", "/abs"] }, {}).imageRoots).toEqual([join(process.cwd(), "rel/images"), "/abs"]);
    expect(loadConfig({}, { SNAPVISOR_IMAGE_ROOTS: "/a:/b::/c" }).imageRoots).toEqual(["/a", "/b", "/c"]);
    expect(loadConfig({}, { SNAPVISOR__IMAGE_ROOTS: "/only" }).imageRoots).toEqual(["/only"]);
    expect(() => loadConfig({ imageRoots: [""] }, {})).toThrow(/imageRoots/);
  });

  test("invalid values fail at start-up with the field named (item 26)", () => {
    expect(() => loadConfig({ compressionDefault: { enabled: true, algorithm: "brotli" } }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ compressionDefault: { enabled: true, algorithm: "brotli" } }, {})).toThrow(/compressionDefault/);
    expect(() => loadConfig({}, { SNAPVISOR__HYPERVISORS__QEMU__ACCEL: "hvf" })).toThrow(/hypervisors.qemu.accel/);
    expect(loadConfig({}, { SNAPVISOR__HYPERVISORS__QEMU__TCG_CACHE_MIB: "12" }).hypervisors.qemu.tcgCacheMib).toBe(12);
    expect(() => loadConfig({}, { SNAPVISOR__HYPERVISORS__QEMU__TCG_CACHE_MIB: "0" })).toThrow(/hypervisors.qemu.tcgCacheMib/);
    expect(() => loadConfig({ configFile: join(dir, "missing.yaml") }, {})).toThrow(/does not exist/);
    writeFileSync(join(dir, "bad.json"), "{");
    expect(() => loadConfig({ configFile: join(dir, "bad.json") }, {})).toThrow(ConfigError);
  });

  test("an empty or short SNAPVISOR_TOKEN says how to set one instead of turning auth off", () => {
    for (const token of ["", "short"]) {
      expect(() => loadConfig({}, { SNAPVISOR_TOKEN: token })).toThrow(/authToken: must hold at least 16 characters: set SNAPVISOR_TOKEN/);
    }
  });
});

describe("remotes", () => {
  const where = { endpoint: "https://acct.r2.cloudflarestorage.com", bucket: "snaps", region: "auto" };

  test("inline keys or environment references; the prefix loses its slashes; env names the remote's fields", () => {
    const c = loadConfig(
      { remotes: { r2: { ...where, prefix: "/edge/", credentials: { accessKeyIdEnv: "R2_ID", secretAccessKeyEnv: "R2_SECRET" } } } },
      { R2_ID: "id-1", R2_SECRET: "secret-1", SNAPVISOR__REMOTES__LOCAL__ENDPOINT: "http://127.0.0.1:9000", SNAPVISOR__REMOTES__LOCAL__BUCKET: "b", SNAPVISOR__REMOTES__LOCAL__CREDENTIALS__ACCESS_KEY_ID: "k", SNAPVISOR__REMOTES__LOCAL__CREDENTIALS__SECRET_ACCESS_KEY: "s" },
    );
    expect(remoteTargets(c)).toEqual({
      r2: { ...where, prefix: "edge", accessKeyId: "id-1", secretAccessKey: "secret-1", gcGraceSeconds: 3600 },
      local: { endpoint: "http://127.0.0.1:9000", bucket: "b", prefix: "", region: "us-east-1", accessKeyId: "k", secretAccessKey: "s", gcGraceSeconds: 3600 },
    });
  });

  test("a missing credential variable, a bad endpoint or a bad name is a start-up error naming it", () => {
    expect(() => loadConfig({ remotes: { r2: { ...where, credentials: { accessKeyIdEnv: "NOPE", secretAccessKeyEnv: "NOPE2" } } } }, {})).toThrow(
      "config remotes.r2.credentials: environment variable NOPE is not set",
    );
    expect(() => loadConfig({ remotes: { r2: { ...where, endpoint: "ftp://x", credentials: { accessKeyId: "a", secretAccessKey: "b" } } } }, {})).toThrow(
      "config remotes.r2.endpoint",
    );
    expect(() => loadConfig({ remotes: { "R 2": { ...where, credentials: { accessKeyId: "a", secretAccessKey: "b" } } } }, {})).toThrow(ConfigError);
  });
});
