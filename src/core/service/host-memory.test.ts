import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSavedVm } from "../../store/payload/vm-record.ts";
import { restoreClaimBytes } from "./host-memory.ts";

const root = mkdtempSync(join(tmpdir(), "sv-host-memory-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const GIB = 1024 ** 3;

async function standby(name: string, memoryKind?: string): Promise<string> {
  const dir = join(root, name);
  mkdirSync(dir);
  await writeSavedVm(dir, { hypervisor: "qemu", version: "7.2.22", config: { disks: [] }, ...(memoryKind ? { memoryKind } : {}) }, "memory", new Date());
  return dir;
}

test("a RAM-file payload claims no guest memory up front (N forks are not N guests); a stream claims all of it", async () => {
  expect(await restoreClaimBytes(await standby("file", "ram-file"), GIB)).toBe(0);
  expect(await restoreClaimBytes(await standby("stream", "migration-stream"), GIB)).toBe(GIB);
  expect(await restoreClaimBytes(await standby("old"), GIB)).toBe(GIB);
  expect(await restoreClaimBytes(join(root, "none"), GIB)).toBe(GIB);
});
