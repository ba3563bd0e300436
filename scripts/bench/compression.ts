// Compression throughput and ratio of our codecs (worker + file-codec, the path compression jobs take) against
// the `zstd` / `lz4` command-line tools on the same memory file in the same run, file to file, compress and
// decompress. Runs alternate ours/CLI and the best of N is kept, because other work on the machine makes single
// runs swing (bun-runtime-notes.md §4). Targets: zstd-1 compress ≥ 0.8× CLI, lz4 ≥ 0.7×, decompress ≥ 0.6×.
//
//   bun scripts/bench/compression.ts [memory-file] [--size 256MiB] [--runs 3]
//   (without a file, a synthetic VM-like file of --size is generated)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runCodec } from "../../src/store/codecs/codec-runner.ts";
import type { CodecName } from "../../src/store/codecs/codec-table.ts";
import { writeSyntheticMemory } from "../../src/store/codecs/synthetic-memory.ts";
import { printTable } from "./report.ts";

const DEFAULT_SIZE = "256MiB";
const DEFAULT_RUNS = 3;
const MIB = 1 << 20;

interface Case {
  name: string;
  algorithm: CodecName;
  level: number;
  target: number;
  cliCompress: (src: string, dst: string) => string[];
  cliDecompress: (src: string, dst: string) => string[];
}

const CASES: Case[] = [
  { name: "zstd-1", algorithm: "zstd", level: 1, target: 0.8, cliCompress: (s, d) => ["zstd", "-q", "-f", "-1", "-T1", "-o", d, s], cliDecompress: (s, d) => ["zstd", "-q", "-f", "-d", "-o", d, s] },
  { name: "zstd-3", algorithm: "zstd", level: 3, target: 0.8, cliCompress: (s, d) => ["zstd", "-q", "-f", "-3", "-T1", "-o", d, s], cliDecompress: (s, d) => ["zstd", "-q", "-f", "-d", "-o", d, s] },
  { name: "lz4 (CLI -1)", algorithm: "lz4", level: 0, target: 0.7, cliCompress: (s, d) => ["lz4", "-q", "-f", "-1", s, d], cliDecompress: (s, d) => ["lz4", "-q", "-f", "-d", s, d] },
];
const DECOMPRESS_TARGET = 0.6;

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  options: { size: { type: "string", default: DEFAULT_SIZE }, runs: { type: "string", default: String(DEFAULT_RUNS) } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), "sv-bench-comp-"));

try {
  const input = positionals[0] ?? join(dir, "memory");
  if (!positionals[0]) await writeSyntheticMemory(input, parseMiB(values.size!) * MIB);
  const bytes = statSync(input).size;
  console.log(`input: ${positionals[0] ?? "synthetic VM-like memory"}, ${(bytes / MIB).toFixed(0)} MiB; best of ${runs} runs, MiB/s file to file`);

  const rows: string[][] = [];
  for (const c of CASES) {
    const ours = { packed: join(dir, "ours.packed"), back: join(dir, "ours.back") };
    const cli = { packed: join(dir, "cli.packed"), back: join(dir, "cli.back") };
    const best = { oursC: Infinity, cliC: Infinity, oursD: Infinity, cliD: Infinity };
    for (let run = 0; run < runs; run++) {
      best.oursC = Math.min(best.oursC, await timed(() => runCodec({ op: "compress", algorithm: c.algorithm, level: c.level, src: input, dst: fresh(ours.packed) })));
      best.cliC = Math.min(best.cliC, await timed(() => spawn(c.cliCompress(input, fresh(cli.packed)))));
      best.oursD = Math.min(best.oursD, await timed(() => runCodec({ op: "decompress", algorithm: c.algorithm, src: ours.packed, dst: fresh(ours.back) })));
      best.cliD = Math.min(best.cliD, await timed(() => spawn(c.cliDecompress(cli.packed, fresh(cli.back)))));
    }
    if (statSync(ours.back).size !== bytes || !(await sameContent(ours.back, input))) throw new Error(`${c.name}: round trip differs`);
    const speed = (ms: number) => bytes / MIB / (ms / 1000);
    const compressRatio = best.cliC / best.oursC;
    const decompressRatio = best.cliD / best.oursD;
    rows.push([
      c.name,
      speed(best.oursC).toFixed(0),
      speed(best.cliC).toFixed(0),
      `${compressRatio.toFixed(2)}× ${compressRatio >= c.target ? "ok" : `< ${c.target}`}`,
      speed(best.oursD).toFixed(0),
      speed(best.cliD).toFixed(0),
      `${decompressRatio.toFixed(2)}× ${decompressRatio >= DECOMPRESS_TARGET ? "ok" : `< ${DECOMPRESS_TARGET}`}`,
      (bytes / statSync(ours.packed).size).toFixed(2),
      (bytes / statSync(cli.packed).size).toFixed(2),
    ]);
  }
  printTable(
    "Compression: ours (worker, file to file) vs CLI (single thread), same file, same run",
    ["codec", "ours compress", "CLI compress", "ours/CLI", "ours decompress", "CLI decompress", "ours/CLI", "ours ratio", "CLI ratio"],
    rows,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** `path` with any previous output removed, so every run writes a new file (as `-f` does for the CLI). */
function fresh(path: string): string {
  rmSync(path, { force: true });
  return path;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function spawn(argv: string[]): Promise<void> {
  const child = Bun.spawn(argv, { stderr: "pipe" });
  if ((await child.exited) !== 0) throw new Error(`${argv.join(" ")}: ${await new Response(child.stderr).text()}`);
}

async function sameContent(a: string, b: string): Promise<boolean> {
  return (await Bun.spawn(["cmp", "-s", a, b]).exited) === 0;
}

/** "256MiB", "1GiB", "64" (MiB) → MiB. */
function parseMiB(size: string): number {
  const match = /^(\d+)\s*(MiB|MB|M|GiB|GB|G)?$/i.exec(size.trim());
  if (!match) throw new Error(`--size: expected e.g. 256MiB or 1GiB, got ${size}`);
  return Number(match[1]) * (/^g/i.test(match[2] ?? "") ? 1024 : 1);
}
