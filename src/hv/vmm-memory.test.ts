import { expect, test } from "bun:test";
import { parseSmapsRollup, vmmMemory } from "./vmm-memory.ts";

test("private bytes are Private_Clean + Private_Dirty; PSS as the kernel counts it", () => {
  const rollup = `55d0c0000000-7ffd5e3ff000 ---p 00000000 00:00 0                          [rollup]
Rss:              90112 kB
Pss:              61440 kB
Pss_Dirty:        49152 kB
Shared_Clean:     28672 kB
Shared_Dirty:         0 kB
Private_Clean:    12288 kB
Private_Dirty:    49152 kB
`;
  expect(parseSmapsRollup(rollup)).toEqual({ privateBytes: (12288 + 49152) * 1024, privateDirtyBytes: 49152 * 1024, pssBytes: 61440 * 1024 });
  expect(parseSmapsRollup("")).toEqual({ privateBytes: 0, privateDirtyBytes: 0, pssBytes: 0 });
});

test("this process has private memory; a pid that does not exist has none to read", async () => {
  expect((await vmmMemory(process.pid))!.privateBytes).toBeGreaterThan(0);
  expect(await vmmMemory(2 ** 22 + 1)).toBeNull();
});
