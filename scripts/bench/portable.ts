// Portable snapshots: export and import throughput (through the API, archive written to / read from a file) against
// `tar` and `tar | zstd` of the same snapshot dir in the same run, and manifest hashing against `sha256sum`.
// The snapshot is a Stopped one whose disk holds --size of VM-like data (synthetic-memory.ts: zero, text and
// random pages), so the numbers do not depend on booting a guest. Best of --runs, MiB/s of payload bytes.
//
//   bun scripts/bench/portable.ts [--size 512MiB] [--runs 3]
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeSyntheticMemory } from "../../src/store/codecs/synthetic-memory.ts";
import { buildManifest } from "../../src/store/payload/manifest.ts";
import { benchService, type BenchService } from "./bench-service.ts";
import { printRemoteTable } from "./remote.ts";
import { printTable } from "./report.ts";

const MIB = 1 << 20;
const { values } = parseArgs({ args: Bun.argv.slice(2), options: { size: { type: "string", default: "512MiB" }, runs: { type: "string", default: "3" } } });
const sizeMiB = Number(/^(\d+)/.exec(values.size!)?.[1] ?? NaN) * (/g/i.test(values.size!) ? 1024 : 1);
if (!Number.isFinite(sizeMiB) || sizeMiB <= 0) throw new Error(`--size: expected e.g. 512MiB, got ${values.size}`);
const runs = Number(values.runs);
const scratch = mkdtempSync(join(tmpdir(), "sv-bench-portable-"));
let a: BenchService | undefined;
let b: BenchService | undefined;

try {
  [a, b] = await Promise.all([benchService(), benchService()]);
  const created = await a.call("POST", "/instances", { name: "payload", size: "256MB", overlay_size: `${sizeMiB}MB` });
  await writeSyntheticMemory(join(a.dataDir, "guests", created.id, "disk.raw"), sizeMiB * MIB);
  const snap = await a.call("POST", "/instances/payload/snapshots", { kind: "Stopped" });
  const manifest = await hashed(a, snap.id);
  const snapshotDir = join(a.dataDir, "snapshots", snap.id);
  const bytes = manifest.files.reduce((sum: number, f: { size: number }) => sum + f.size, 0);
  console.log(`payload: ${(bytes / MIB).toFixed(0)} MiB in ${manifest.files.length} files (VM-like data); best of ${runs} runs`);

  const archive = { plain: join(scratch, "plain.tar"), zstd: join(scratch, "zstd.tar"), cliPlain: join(scratch, "cli.tar"), cliZstd: join(scratch, "cli.tar.zst") };
  const best = (work: () => Promise<unknown>) => bestOf(runs, work);
  const t = {
    hash: await best(() => buildManifest(snapshotDir, { hostCpu: { model: "", flags: [] }, imageContentHash: "0".repeat(64), createdAt: new Date() })),
    sha256sum: await best(() => sh(`find ${snapshotDir} -type f ! -name manifest.json -exec sha256sum {} + > /dev/null`)),
    exportPlain: await best(() => exportTo(a!, snap.id, "", archive.plain)),
    tar: await best(() => sh(`tar -cf ${archive.cliPlain} -C ${snapshotDir} .`)),
    exportZstd: await best(() => exportTo(a!, snap.id, "?compress=zstd", archive.zstd)),
    tarZstd: await best(() => sh(`tar -cf - -C ${snapshotDir} . | zstd -q -1 -T1 > ${archive.cliZstd}`)),
    importPlain: await best(() => importFrom(b!, archive.plain, snap.id)),
    untar: await best(() => untar(`tar -xf ${archive.cliPlain}`)),
    importZstd: await best(() => importFrom(b!, archive.zstd, snap.id)),
    unzstdTar: await best(() => untar(`zstd -q -d -c ${archive.cliZstd} | tar -xf -`)),
  };
  const speed = (ms: number) => (bytes / MIB / (ms / 1000)).toFixed(0);
  const row = (what: string, ours: number, theirs: number, baseline: string, size?: [string, string]) => [
    what,
    speed(ours),
    speed(theirs),
    `${(theirs / ours).toFixed(2)}×`,
    baseline,
    size ? `${(statSync(size[0]).size / MIB).toFixed(0)} / ${(statSync(size[1]).size / MIB).toFixed(0)}` : "",
  ];
  printTable(
    "Portable snapshots: ours (API, archive file) vs command-line tools, same payload, same run (MiB/s of payload)",
    ["operation", "ours", "baseline", "ours/baseline", "baseline is", "archive MiB ours / baseline"],
    [
      row("hash (manifest)", t.hash, t.sha256sum, "sha256sum"),
      row("export", t.exportPlain, t.tar, "tar -cf", [archive.plain, archive.cliPlain]),
      row("export zstd", t.exportZstd, t.tarZstd, "tar | zstd -1 -T1", [archive.zstd, archive.cliZstd]),
      row("import (verified)", t.importPlain, t.untar, "tar -xf"),
      row("import zstd (verified)", t.importZstd, t.unzstdTar, "zstd -d | tar -xf"),
    ],
  );
  await printRemoteTable(sizeMiB); // push/pull to a local S3 server, same payload size, same run
} finally {
  await Promise.all([a?.close(), b?.close()]);
  rmSync(scratch, { recursive: true, force: true });
}

async function hashed(svc: BenchService, id: string): Promise<any> {
  for (let i = 0; i < 6000; i++) {
    const { job, manifest } = await svc.call("GET", `/snapshots/${id}/manifest`);
    if (job?.state === "done") return manifest;
    if (job?.state === "error") throw new Error(`hashing failed: ${job.error}`);
    await Bun.sleep(50);
  }
  throw new Error("hashing did not finish in 5 minutes");
}

async function exportTo(svc: BenchService, id: string, query: string, path: string): Promise<void> {
  const res = await svc.sv.app.request(`/snapshots/${id}/export${query}`);
  if (!res.ok) throw new Error(`export: ${res.status} ${await res.text()}`);
  await Bun.write(path, res);
}

/** Imports the archive at `path` into `svc`, then deletes it again so the next run imports afresh (not timed). */
async function importFrom(svc: BenchService, path: string, id: string): Promise<number> {
  const started = performance.now();
  const res = await svc.sv.app.request("/snapshots/import", { method: "POST", body: Bun.file(path).stream() });
  if (res.status !== 201) throw new Error(`import: ${res.status} ${await res.text()}`);
  const ms = performance.now() - started;
  await svc.call("DELETE", `/snapshots/${id}`);
  return ms;
}

/** Extracts into a fresh dir with `command` (run there), then removes it (not timed). */
async function untar(command: string): Promise<number> {
  const dir = join(scratch, "extract");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const started = performance.now();
  await sh(`cd ${dir} && ${command}`);
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

/** The fastest of `runs` runs in ms; `work` may return its own measured ms (to leave clean-up out). */
async function bestOf(count: number, work: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const measured = await work();
    fastest = Math.min(fastest, typeof measured === "number" ? measured : performance.now() - started);
  }
  return fastest;
}

async function sh(command: string): Promise<void> {
  const child = Bun.spawn(["sh", "-c", command], { stderr: "pipe" });
  if ((await child.exited) !== 0) throw new Error(`${command}: ${await new Response(child.stderr).text()}`);
}
