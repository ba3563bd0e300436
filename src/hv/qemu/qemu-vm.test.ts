import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { incomingUri, outgoingUri, vmStateOf } from "./qemu-vm.ts";
import { parseQemuVersion } from "./version.ts";

const QEMU_7_2 = parseQemuVersion("QEMU emulator version 7.2.22");
const QEMU_10 = parseQemuVersion("QEMU emulator version 10.0.2");

test("QMP run states map to ours", () => {
  expect(["prelaunch", "inmigrate"].map(vmStateOf)).toEqual(["created", "created"]);
  expect(vmStateOf("running")).toBe("running");
  expect(["paused", "postmigrate", "finish-migrate", "suspended", "io-error"].map(vmStateOf)).toEqual(Array(5).fill("paused"));
  expect(["shutdown", "guest-panicked", "internal-error"].map(vmStateOf)).toEqual(Array(3).fill("shutdown"));
});

describe("migration URIs", () => {
  const dir = mkdtempSync(join(tmpdir(), "it's a dir $(x) "));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("QEMU >= 8.2 reads and writes the file itself", () => {
    expect(outgoingUri(QEMU_10, "/s/memory")).toBe("file:/s/memory");
    expect(incomingUri(QEMU_10, "/s/memory")).toBe("file:/s/memory");
  });

  /** Runs an exec: URI the way QEMU does (`/bin/sh -c`), with `input` as the migration stream. */
  function runExec(uri: string, input = ""): string {
    expect(uri.startsWith("exec:")).toBe(true);
    const result = Bun.spawnSync(["/bin/sh", "-c", uri.slice("exec:".length)], { stdin: Buffer.from(input) });
    expect(result.exitCode).toBe(0);
    return result.stdout.toString();
  }

  test("QEMU 7.2's exec: writer lands the file under its name only when complete, whatever the path holds", () => {
    const memory = join(dir, "memory");
    const uri = outgoingUri(QEMU_7_2, memory);
    expect(uri).toContain(".partial");
    runExec(uri, "migration stream");
    expect(readFileSync(memory, "utf8")).toBe("migration stream");
    expect(existsSync(`${memory}.partial`)).toBe(false);
    expect(runExec(incomingUri(QEMU_7_2, memory))).toBe("migration stream");
  });
});
