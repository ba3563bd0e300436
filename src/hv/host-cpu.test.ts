import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseHostCpu, probeHostCpu } from "./host-cpu.ts";

const CPUINFO = `processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 ssse3 avx2 avx aes rdrand hypervisor pti ibpb constant_tsc
bugs\t\t: sysret_ss_attrs spectre_v1

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 ssse3 avx2 avx aes rdrand hypervisor pti ibpb constant_tsc
`;

test("the model and only the restore-relevant flags, sorted; bugs and mitigations left out", () => {
  expect(parseHostCpu(CPUINFO)).toEqual({ model: "AMD EPYC 7B13", flags: ["aes", "avx", "avx2", "rdrand", "sse", "sse2", "ssse3"] });
});

test("an unreadable or empty cpuinfo is a CPU with no known features", () => {
  const dir = mkdtempSync(join(tmpdir(), "sv-cpu-"));
  try {
    expect(probeHostCpu(join(dir, "missing"))).toEqual({ model: "unknown", flags: [] });
    writeFileSync(join(dir, "cpuinfo"), CPUINFO);
    expect(probeHostCpu(join(dir, "cpuinfo")).model).toBe("AMD EPYC 7B13");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
