// Push and pull throughput to a local S3 server (s3rver on 127.0.0.1, test/s3-server.ts): a snapshot whose disk
// holds `SIZE_MIB` of VM-like data (store/codecs/synthetic-memory.ts) pushed cold (every chunk new), pushed again
// after a light change (only changed chunks go up), and both pulled by a second service with its own data dir (the
// second pull reads what it shares with the first from disk). Pushes
// are timed once the snapshot's manifest is hashed (its own row). The baseline, in the same run, is the bare S3
// client moving the same file as 4 MiB objects (no hashing, no job, no staging): our overhead over the transport.
// scripts/bench/portable.ts prints this table too, after its export/import one.
//   bun scripts/bench/remote.ts [SIZE_MIB=512]
import { open, rm } from "node:fs/promises";
import { S3Client } from "bun";
import { CHUNK_BYTES, readChunks } from "../../src/store/payload/chunk-hash.ts";
import { BoundedPipeline } from "../../src/store/remote/bounded-pipeline.ts";
import { changeDisk, diskPath, fileInstance, fileSnapshot, registerPlaceholderImage } from "../../test/fixtures/file-snapshot.ts";
import { startLocalS3, S3RVER_KEYS } from "../../test/s3-server.ts";
import { benchService, type BenchService } from "./bench-service.ts";
import { printTable } from "./report.ts";

const MiB = 1024 * 1024;

async function remoteRows(sizeMib: number): Promise<string[][]> {
  const s3 = await startLocalS3();
  const remotes = { bench: s3.remote("bench") };
  const a = await benchService({ remotes });
  const b = await benchService({ remotes });
  try {
    const call = (svc: BenchService) => async (method: string, path: string, body?: unknown) => ({ status: 201, body: await svc.call(method, path, body) });
    await registerPlaceholderImage(call(a), a.dataDir);
    await registerPlaceholderImage(call(b), b.dataDir); // the same image on both: the pull checks it is there
    const instance = await fileInstance(call(a), a.dataDir, "bench", sizeMib * MiB);
    const bytes = sizeMib * MiB;

    const bare = await bareClient(s3.endpoint, s3.bucket, diskPath(a.dataDir, instance));
    const first = await fileSnapshot(call(a), instance, "cold");
    const hashMs = await manifestReady(a, first);
    const cold = await transfer(a, "POST", `/snapshots/${first}/push?remote=bench`);
    await changeDisk(a.dataDir, instance, 7 * MiB, 4096);
    const second = await fileSnapshot(call(a), instance, "warm");
    await manifestReady(a, second);
    const warm = await transfer(a, "POST", `/snapshots/${second}/push?remote=bench`);
    const pulled = await transfer(b, "POST", "/snapshots/pull", { remote: "bench", snapshot_id: first });
    const pulledNext = await transfer(b, "POST", "/snapshots/pull", { remote: "bench", snapshot_id: second });

    const rate = (n: number, ms: number) => ((n / MiB) / (ms / 1000)).toFixed(0);
    const row = (what: string, ms: number, job: any, baselineMs: number) => [
      what,
      (ms / 1000).toFixed(2),
      rate(job.bytes_total, ms),
      (job.bytes_transferred / MiB).toFixed(1),
      `${((job.bytes_transferred / job.bytes_total) * 100).toFixed(1)} %`,
      (ms / baselineMs).toFixed(2),
    ];
    return [
      ["manifest hashing (background, after the snapshot)", (hashMs / 1000).toFixed(2), rate(bytes, hashMs), "0.0", "0.0 %", "-"],
      ["bare S3 PUT, 4 MiB objects", (bare.putMs / 1000).toFixed(2), rate(bytes, bare.putMs), (bytes / MiB).toFixed(1), "100.0 %", "1.00"],
      row("push, cold (all chunks new)", cold.ms, cold.job, bare.putMs),
      row("push, 4 KiB changed", warm.ms, warm.job, bare.putMs),
      ["bare S3 GET into a file, fsynced", (bare.getMs / 1000).toFixed(2), rate(bytes, bare.getMs), (bytes / MiB).toFixed(1), "100.0 %", "1.00"],
      row("pull onto another data dir", pulled.ms, pulled.job, bare.getMs),
      row("pull of the next snapshot (shared chunks read locally)", pulledNext.ms, pulledNext.job, bare.getMs),
    ];
  } finally {
    await a.close();
    await b.close();
    await s3.stop();
  }
}

const REMOTE_HEADER = ["operation", "seconds", "MiB/s of payload", "MiB moved", "moved / total", "time vs bare"];

/** Waits for the snapshot's manifest (hashed by a background job after each snapshot); how long that took. */
async function manifestReady(svc: BenchService, snapshotId: string): Promise<number> {
  const started = performance.now();
  await svc.sv.core.manifests.ensure(snapshotId);
  return performance.now() - started;
}

/** Starts a transfer and waits for it in-process; its wall time and final row. */
async function transfer(svc: BenchService, method: string, path: string, body?: unknown): Promise<{ ms: number; job: any }> {
  const started = performance.now();
  const job = await svc.call(method, path, body);
  await svc.sv.core.transfers.settled(job.id);
  const ms = performance.now() - started;
  const done = await svc.call("GET", `/transfers/${job.id}`);
  if (done.state !== "done") throw new Error(`${path}: ${done.error}`);
  return { ms, job: done };
}

/** The same file through the S3 client alone: 4 MiB objects, 4 in flight, uploaded, then downloaded into a file
 * that is fsynced (what a pull must do too; no hashing, no staging, no job). */
async function bareClient(endpoint: string, bucket: string, path: string): Promise<{ putMs: number; getMs: number }> {
  const client = new S3Client({ endpoint, bucket, region: "us-east-1", ...S3RVER_KEYS });
  const keys: string[] = [];
  const started = performance.now();
  const uploads = new BoundedPipeline<number>(4);
  for await (const chunk of readChunks(path, { chunkBytes: CHUNK_BYTES })) {
    const key = `bare/${chunk.index}`;
    keys.push(key);
    await uploads.push(() => client.write(key, chunk.bytes));
  }
  await uploads.drain();
  const putMs = performance.now() - started;
  const read = performance.now();
  const copy = await open(`${path}.bare-copy`, "w");
  try {
    for (let i = 0; i < keys.length; i += 4) {
      const pieces = await Promise.all(keys.slice(i, i + 4).map((key) => client.file(key).bytes()));
      for (const [j, piece] of pieces.entries()) await copy.write(piece, 0, piece.length, (i + j) * CHUNK_BYTES);
    }
    await copy.sync();
  } finally {
    await copy.close();
    await rm(`${path}.bare-copy`, { force: true });
  }
  return { putMs, getMs: performance.now() - read };
}

/** The table, as this script and scripts/bench/portable.ts (one run with export/import) print it. */
export async function printRemoteTable(sizeMib: number): Promise<void> {
  printTable(`Snapshot push/pull to a local S3 server (s3rver, 127.0.0.1), ${sizeMib} MiB of VM-like disk`, REMOTE_HEADER, await remoteRows(sizeMib));
}

if (import.meta.main) await printRemoteTable(Number(process.argv[2] ?? 512));
