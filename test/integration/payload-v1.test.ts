// A standby payload whose records have the shape of format version 1 (no format_version, no memory file name,
// no dates; the instance record the VM config alone) is restored by a server of the current version: the same
// guest continues, its counter too.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootCount, bootGuest, consoleTicks, isContinuous, tick, waitForTicks, withGuestService } from "./guest.ts";
import type { TestService } from "../harness.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

/** Rewrites a record as version 1 wrote it: the envelope fields of version 2 removed. */
function toV1(path: string, unwrap?: (record: Record<string, unknown>) => unknown): void {
  const record = JSON.parse(readFileSync(path, "utf8"));
  expect(record.format_version).toBe(2);
  const { format_version: _v, memory_file: _m, created_at: _c, ...v1 } = record;
  writeFileSync(path, `${JSON.stringify(unwrap ? unwrap(v1) : v1, null, 2)}\n`);
}

test("a standby written with version-1 records restores and continues", async () => {
  const { id } = await bootGuest(svc, "old-format");
  await waitForTicks(svc, id, 3);
  const before = await tick(svc, id);
  expect((await svc.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");

  const guest = join(svc.dataDir, "guests", id);
  toV1(join(guest, "standby/vm.json"));
  toV1(join(guest, "qemu-vm.json"));
  toV1(join(guest, "vm.json"), (record) => record.config);

  const restored = await svc.call("POST", `/instances/${id}/restore`);
  expect(restored.status, JSON.stringify(restored.body)).toBe(200);
  expect(restored.body.state).toBe("Running");
  expect(await tick(svc, id)).toBeGreaterThanOrEqual(before);
  await waitForTicks(svc, id, before + 2);
  expect(isContinuous(await consoleTicks(svc, id))).toBe(true);
  expect(await bootCount(svc, id)).toBe(1);
}, 120_000);
