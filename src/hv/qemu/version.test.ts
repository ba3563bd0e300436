import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HypervisorError } from "../hypervisor.ts";
import { QemuBinary, parseMachineTypes, parseMigrationCapabilities, parseQemuVersion, supportsFileMigration } from "./version.ts";
import { QemuDriver } from "./driver.ts";

const MACHINE_HELP = `Supported machines are:
microvm              microvm (i386)
pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
pc-q35-2.4           Standard PC (Q35 + ICH9, 2009)
none                 empty machine
`;

describe("version parsing", () => {
  test("reads the version line", () => {
    const v = parseQemuVersion("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n");
    expect(v).toEqual({ major: 7, minor: 2, micro: 22, text: "7.2.22" });
    expect(() => parseQemuVersion("bash: qemu: command not found")).toThrow(HypervisorError);
  });

  test("file: migration URIs from 8.2 on", () => {
    const v = (text: string) => parseQemuVersion(`QEMU emulator version ${text}`);
    expect(supportsFileMigration(v("7.2.22"))).toBe(false);
    expect(supportsFileMigration(v("8.1.5"))).toBe(false);
    expect(supportsFileMigration(v("8.2.0"))).toBe(true);
    expect(supportsFileMigration(v("10.0.2"))).toBe(true);
  });

  test("migration capabilities from the QMP reply among the other lines", () => {
    const out = [
      `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}`,
      `{"return": {}}`,
      `{"return": [{"state": false, "capability": "xbzrle"}, {"state": false, "capability": "x-ignore-shared"}]}`,
      `{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false}}`,
    ].join("\n");
    expect([...parseMigrationCapabilities(out)]).toEqual(["xbzrle", "x-ignore-shared"]);
    expect(() => parseMigrationCapabilities(`{"return": {}}\nnot json`)).toThrow(HypervisorError);
  });

  test("machine types and their aliases", () => {
    const machines = parseMachineTypes(MACHINE_HELP);
    expect([...machines].sort()).toEqual(["microvm", "none", "pc", "pc-i440fx-7.2", "pc-q35-2.4", "pc-q35-7.2", "q35"]);
  });
});

describe("QemuBinary", () => {
  const dir = mkdtempSync(join(tmpdir(), "qemu-bin-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("asks the binary once per question", async () => {
    const calls = join(dir, "calls");
    const fake = join(dir, "fake-qemu");
    writeFileSync(
      fake,
      `#!/bin/sh\necho "$*" >>${calls}\ncase "$1" in --version) echo "QEMU emulator version 9.1.0";; *) printf '%s' '${MACHINE_HELP}';; esac\n`,
    );
    chmodSync(fake, 0o755);
    const bin = new QemuBinary(fake);
    expect((await bin.version()).text).toBe("9.1.0");
    expect((await bin.version()).text).toBe("9.1.0");
    expect((await bin.machines()).has("pc-q35-7.2")).toBe(true);
    await bin.machines();
    expect(readFileSync(calls, "utf8")).toBe("--version\n-machine help\n");
  });

  test("a missing binary is not_supported", async () => {
    const err = await new QemuBinary(join(dir, "no-such-qemu")).version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    expect((err as HypervisorError).kind).toBe("not_supported");
  });

  test("the installed QEMU answers", async () => {
    const bin = new QemuBinary("qemu-system-x86_64");
    expect((await bin.version()).major).toBeGreaterThanOrEqual(7);
    expect((await bin.machines()).has("pc-q35-7.2")).toBe(true);
    expect((await bin.migrationCapabilities()).has("x-ignore-shared")).toBe(true);
  });

  test("a RAM-file payload on a QEMU without x-ignore-shared is refused as not_supported, a stream one is not", async () => {
    const fake = join(dir, "qemu-without-ignore-shared");
    const caps = `{"return": [{"state": false, "capability": "xbzrle"}]}`;
    writeFileSync(
      fake,
      `#!/bin/sh
case "$1" in --version) echo "QEMU emulator version 7.2.22";; -machine) [ "$2" = help ] && printf '%s' '${MACHINE_HELP}' || { cat >/dev/null; echo '${caps}'; };; esac
`,
    );
    chmodSync(fake, 0o755);
    const driver = new QemuDriver({ binary: fake, accel: "tcg" });
    const saved = { hypervisor: "qemu", version: "7.2.22", config: { disks: [] }, detail: { machine: "pc-q35-7.2", accel: "tcg", argv: [] } };
    const err = await driver.checkRestorable({ ...saved, memoryKind: "ram-file" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    expect((err as HypervisorError).kind).toBe("not_supported");
    expect((err as Error).message).toContain("x-ignore-shared");
    expect(await driver.checkRestorable({ ...saved, memoryKind: "migration-stream" })).toMatchObject({ memoryKind: "migration-stream" });
    expect(await driver.checkRestorable(saved)).toMatchObject({ version: "7.2.22" });
  });
});
