// A guest's RAM file mapped shared has its blocks reserved while QEMU runs (a first write to a page then needs no
// free space: on a full disk it would be a SIGBUS killing QEMU), and a standby gives back the blocks of pages
// never written, so its payload's memory costs the disk its data, not the guest's size.
import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { dataBytes } from "../../src/fs/block-reservation.ts";
import { type TestService } from "../harness.ts";
import { bootGuest, exec, withGuestService } from "./guest.ts";

const MiB = 1024 * 1024;
const GUEST_MEMORY = 256 * MiB;

let svc: TestService;
withGuestService((s) => (svc = s));

const allocated = (path: string) => statSync(path).blocks * 512;

test("a running guest's RAM file is reserved whole; its standby memory keeps only its data's blocks; restore reserves again", async () => {
  const { id } = await bootGuest(svc, "reserved");
  const ram = join(svc.dataDir, "guests", id, "ram");
  expect(allocated(ram)).toBeGreaterThanOrEqual(GUEST_MEMORY);

  expect((await svc.call("POST", `/instances/${id}/standby`)).body.state).toBe("Standby");
  const memory = join(svc.dataDir, "guests", id, "standby", "memory");
  const data = dataBytes(memory);
  expect(data).toBeGreaterThan(0);
  expect(data).toBeLessThan(GUEST_MEMORY);
  expect(allocated(memory)).toBeGreaterThanOrEqual(data);
  expect(allocated(memory)).toBeLessThanOrEqual(data + 4 * MiB);

  expect((await svc.call("POST", `/instances/${id}/restore`)).body.state).toBe("Running");
  expect(allocated(ram)).toBeGreaterThanOrEqual(GUEST_MEMORY);
  expect((await exec(svc, id, "echo back")).stdout.trim()).toBe("back");
});
