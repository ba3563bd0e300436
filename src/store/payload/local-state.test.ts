import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_STATE_RECORD } from "./layout.ts";
import { DEFAULT_LOCAL_STATE, readLocalState, writeLocalState } from "./local-state.ts";
import { parseManifest, payloadFiles } from "./manifest.ts";
import { PAYLOAD_FORMAT_VERSION, PayloadError, type PayloadErrorKind } from "./record-file.ts";

const scratch = mkdtempSync(join(tmpdir(), "sv-local-state-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const dir = (name: string) => {
  const path = join(scratch, name);
  mkdirSync(path);
  return path;
};

test("written and read back, rewritten in place (no temp file left), versioned", async () => {
  const d = dir("roundtrip");
  await writeLocalState(d, { pinned: true, origin: "schedule", scheduleId: "inst-1" });
  expect(await readLocalState(d)).toEqual({ pinned: true, origin: "schedule", scheduleId: "inst-1" });
  await writeLocalState(d, { pinned: false, origin: "schedule", scheduleId: "inst-1" });
  expect(await readLocalState(d)).toEqual({ pinned: false, origin: "schedule", scheduleId: "inst-1" });
  expect(readdirSync(d)).toEqual([LOCAL_STATE_RECORD]);
  expect(JSON.parse(readFileSync(join(d, LOCAL_STATE_RECORD), "utf8")).format_version).toBe(PAYLOAD_FORMAT_VERSION);
});

test("a snapshot dir without one (older, imported, pulled) is manual and unpinned", async () => {
  expect(await readLocalState(dir("absent"))).toEqual(DEFAULT_LOCAL_STATE);
  expect(DEFAULT_LOCAL_STATE).toEqual({ pinned: false, origin: "manual", scheduleId: null });
});

test("a damaged, invalid or newer record is a PayloadError naming the file, never a default", async () => {
  const cases: [string, string, PayloadErrorKind][] = [
    ["damaged", "{ not json", "unreadable"],
    ["invalid", JSON.stringify({ pinned: "yes", origin: "manual", scheduleId: null }), "unreadable"],
    ["origin", JSON.stringify({ pinned: true, origin: "client", scheduleId: null }), "unreadable"],
    ["newer", JSON.stringify({ format_version: PAYLOAD_FORMAT_VERSION + 1, pinned: true }), "newer"],
  ];
  for (const [name, text, kind] of cases) {
    const d = dir(name);
    writeFileSync(join(d, LOCAL_STATE_RECORD), text);
    const err = await readLocalState(d).catch((e: unknown) => e);
    expect(err, name).toBeInstanceOf(PayloadError);
    expect((err as PayloadError).kind, name).toBe(kind);
    expect((err as PayloadError).path).toBe(join(d, LOCAL_STATE_RECORD));
  }
});

test("never in the manifest's file set, and a manifest that lists it is refused", async () => {
  const d = dir("payload");
  writeFileSync(join(d, "snapshot.json"), "{}");
  await writeLocalState(d, { pinned: true, origin: "manual", scheduleId: null });
  expect((await payloadFiles(d)).map((f) => f.path)).toEqual(["snapshot.json"]);

  const file = { path: LOCAL_STATE_RECORD, size: 0, sha256: "0".repeat(64), chunks: [] };
  const manifest = {
    format_version: 1,
    payload_format_version: PAYLOAD_FORMAT_VERSION,
    created_at: "2026-03-04T00:00:00.000Z",
    snapshot: { id: "s", kind: "Stopped" },
    hypervisor: { type: "qemu", version: null },
    machine: { type: null, config_hash: "a".repeat(64) },
    memory: { bytes: 0, kind: "none", file: null },
    host_cpu: { model: "", flags: [] },
    accel: null,
    image: { name: "default", content_hash: "b".repeat(64) },
    chunk_bytes: 4 * 1024 * 1024,
    files: [file],
  };
  expect(() => parseManifest(manifest)).toThrow(`files.0.path: ${LOCAL_STATE_RECORD} is host-local`);
  expect(parseManifest({ ...manifest, files: [{ ...file, path: "snapshot.json" }] }).kind).toBe("current");
});
