// Object-storage remotes against a local S3 server (s3rver on 127.0.0.1): snapshots made of files (no VMM) pushed
// by one snapvisor and pulled by another with its own data dir. Proves: the listing hides credentials; a pull
// rebuilds the same bytes under the same id; a manifest this host cannot restore is refused with typed reasons; a
// second push of a lightly changed snapshot sends only the changed chunks; a damaged chunk on the remote refuses
// the pull and leaves nothing visible; a push cut by SIGKILL runs again at start-up and completes, sending only
// what was missing; a pull cut by SIGKILL runs again at start-up, reusing the chunks it had fetched, and completes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, startService, type TestService } from "../harness.ts";
import { S3Client } from "bun";
import { S3RVER_KEYS, startLocalS3, type LocalS3 } from "../s3-server.ts";
import { changeDisk, fileInstance, fileSnapshot } from "../fixtures/file-snapshot.ts";
import { startServicePair } from "../fixtures/service-pair.ts";

const MiB = 1 << 20;
let s3: LocalS3;
let a: TestService;
let b: TestService;

beforeAll(async () => {
  s3 = await startLocalS3();
  const remotes = { local: s3.remote("fleet") };
  [a, b] = await startServicePair(remotes);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await s3?.stop();
});

/** Waits for a transfer to end (in-process, no polling) and returns it as the API shows it. */
async function settled(svc: TestService, id: string): Promise<any> {
  await svc.sv.core.transfers.settled(id);
  return (await svc.call("GET", `/transfers/${id}`)).body;
}

async function push(svc: TestService, snapshotId: string): Promise<any> {
  const res = await svc.call("POST", `/snapshots/${snapshotId}/push?remote=local`);
  expect(res.status).toBe(202);
  return settled(svc, res.body.id);
}

async function pull(svc: TestService, snapshotId: string): Promise<any> {
  const res = await svc.call("POST", "/snapshots/pull", { remote: "local", snapshot_id: snapshotId });
  expect(res.status).toBe(202);
  return settled(svc, res.body.id);
}

const sha = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
const diskOf = (svc: TestService, snapshotId: string) => join(svc.dataDir, "snapshots", snapshotId, "guest", "disk.raw");

test("GET /remotes names each remote and where it is, never its credentials", async () => {
  const res = await a.call("GET", "/remotes");
  expect(res.status).toBe(200);
  expect(res.body).toEqual([{ name: "local", endpoint: s3.endpoint, bucket: "snapshots", prefix: "fleet", region: "us-east-1" }]);
  expect(JSON.stringify(res.body)).not.toContain("S3RVER");
});

test("bad requests name their field: an unknown remote, a snapshot id that cannot be one, one the remote lacks; a remote down is 502", async () => {
  const inst = await fileInstance(a.call, a.dataDir, "refusals", MiB);
  const snap = await fileSnapshot(a.call, inst, "r1");
  const unknown = await a.call("POST", `/snapshots/${snap}/push?remote=elsewhere`);
  expect(unknown.status).toBe(400);
  expect(unknown.body.message).toContain("remote");
  expect((await a.call("POST", `/snapshots/${snap}/push`)).status).toBe(400);
  const bad = await b.call("POST", "/snapshots/pull", { remote: "local", snapshot_id: "../etc" });
  expect(bad.status).toBe(400);
  expect(bad.body.message).toContain("snapshot_id");
  expect((await b.call("POST", "/snapshots/pull", { remote: "local", snapshot_id: "nosuchsnapshot" })).status).toBe(404);
  expect((await a.call("POST", "/snapshots/nosuchsnapshot/push?remote=local")).status).toBe(404);
  // A remote that does not answer (nothing listens on port 9 of loopback): 502 naming the remote, not a 500.
  const down = await startService({ remotes: { gone: { ...s3.remote(), endpoint: "http://127.0.0.1:9" } } });
  try {
    const res = await down.call("POST", "/snapshots/pull", { remote: "gone", snapshot_id: "anything" });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: "remote_unavailable" });
    expect(res.body.message).toStartWith("remote: ");
  } finally {
    await down.close();
  }
});

test("push then pull onto another data dir: same id, same bytes; the next snapshot, lightly changed, moves < 10 % each way", async () => {
  const inst = await fileInstance(a.call, a.dataDir, "golden", 128 * MiB);
  const first = await fileSnapshot(a.call, inst, "v1");
  const pushed = await push(a, first);
  expect(pushed).toMatchObject({ state: "done", kind: "push", error: null });
  expect(pushed.chunks_done).toBe(pushed.chunks_total);
  expect(pushed.bytes_done).toBe(pushed.bytes_total);
  expect(pushed.bytes_total).toBeGreaterThan(128 * MiB);
  expect(pushed.bytes_transferred).toBeGreaterThan(0);

  const pulled = await pull(b, first);
  expect(pulled).toMatchObject({ state: "done", kind: "pull", error: null });
  expect((await b.call("GET", `/snapshots/${first}`)).body).toMatchObject({ id: first, name: "v1", kind: "Stopped" });
  expect(sha(diskOf(b, first))).toBe(sha(diskOf(a, first)));
  expect((await b.call("POST", "/snapshots/pull", { remote: "local", snapshot_id: first })).status).toBe(409);

  // A few bytes in two places of the disk: two 4 MiB chunks change, everything else is on the remote already.
  await changeDisk(a.dataDir, inst, 5 * MiB + 17, 64);
  await changeDisk(a.dataDir, inst, 100 * MiB, 1);
  const second = await fileSnapshot(a.call, inst, "v2");
  const again = await push(a, second);
  expect(again.state).toBe("done");
  const share = again.bytes_transferred / again.bytes_total;
  console.log(`second push: ${again.bytes_transferred} of ${again.bytes_total} bytes uploaded (${(share * 100).toFixed(2)} %)`);
  expect(share).toBeLessThan(0.1);
  const pulledAgain = await pull(b, second);
  expect(pulledAgain.state).toBe("done");
  // What the first snapshot pulled here shares with the second is read from it, not downloaded again.
  console.log(`second pull: ${pulledAgain.bytes_transferred} of ${pulledAgain.bytes_total} bytes downloaded`);
  expect(pulledAgain.bytes_transferred / pulledAgain.bytes_total).toBeLessThan(0.1);
  expect(sha(diskOf(b, second))).toBe(sha(diskOf(a, second)));
  expect(sha(diskOf(b, second))).not.toBe(sha(diskOf(b, first)));
});

test("a manifest this host cannot restore (a newer format) is refused at the pull request with typed reasons", async () => {
  const id = "newerformatsnapshot";
  const client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: "us-east-1", ...S3RVER_KEYS });
  await client.write(`fleet/snapshots/${id}/manifest.json`, JSON.stringify({ format_version: 99, snapshot: { id } }));
  const res = await b.call("POST", "/snapshots/pull", { remote: "local", snapshot_id: id });
  expect(res.status).toBe(409);
  expect(res.body.reasons).toEqual([expect.objectContaining({ code: "format_too_new" })]);
  expect((await b.call("GET", `/snapshots/${id}`)).status).toBe(404);
});

test("a damaged or grown chunk on the remote: the pull fails naming it, and nothing of the snapshot is visible", async () => {
  const inst = await fileInstance(a.call, a.dataDir, "damaged", 8 * MiB);
  await changeDisk(a.dataDir, inst, 0, 4096); // both chunks unlike any other test's (none is on b already)
  await changeDisk(a.dataDir, inst, 4 * MiB, 4096);
  const snap = await fileSnapshot(a.call, inst, "d1");
  expect((await push(a, snap)).state).toBe("done");
  const manifest = await manifestOnRemote(snap);
  const chunk = manifest.files.find((f: any) => f.path === "guest/disk.raw").chunks[0];
  const stored = findObject(s3.dir, `chunks/${chunk}`);
  const bytes = readFileSync(stored);
  bytes[1000] = bytes[1000]! ^ 0xff;
  writeFileSync(stored, bytes);

  const refused = async (named: string) => {
    const pulled = await pull(b, snap);
    expect(pulled.state).toBe("error");
    expect(pulled.error).toContain(named);
    expect((await b.call("GET", `/snapshots/${snap}`)).status).toBe(404);
    expect(readdirSync(join(b.dataDir, "snapshots"))).not.toContain(snap);
    expect(readdirSync(join(b.dataDir, "tmp")).filter((name) => !name.startsWith("discard-"))).toEqual([]);
  };
  await refused(chunk);

  // Mended, but another chunk grown past its length: also refused (never read past one byte too many).
  bytes[1000] = bytes[1000]! ^ 0xff;
  writeFileSync(stored, bytes);
  const next = manifest.files.find((f: any) => f.path === "guest/disk.raw").chunks[1];
  const grown = findObject(s3.dir, `chunks/${next}`);
  writeFileSync(grown, Buffer.concat([readFileSync(grown), Buffer.alloc(64 * 1024, 1)]));
  await refused(next);
});

test("a push cut by SIGKILL runs again at start-up, sends only what is missing, and completes", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sv-pushkill-"));
  try {
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/push-and-die.ts"), dataDir, JSON.stringify(s3.remote("crash"))], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const [snapshotId, transferId] = (await new Response(child.stdout).text()).trim().split(" ") as [string, string, string];
    expect(await child.exited).not.toBe(0);
    expect(await manifestOnRemote(snapshotId, "crash")).toBeUndefined(); // not visible until whole

    const svc = await startService({ dataDir, remotes: { local: s3.remote("crash") } });
    try {
      const job = await settled(svc, transferId);
      expect(job).toMatchObject({ state: "done", error: null });
      expect(job.chunks_done).toBe(job.chunks_total);
      // Chunks sent before the kill were not sent again.
      expect(job.bytes_transferred).toBeLessThan(job.bytes_total);
      console.log(`resumed push: ${job.bytes_transferred} of ${job.bytes_total} bytes uploaded after the restart`);
      expect(await manifestOnRemote(snapshotId, "crash")).toBeDefined();
    } finally {
      await svc.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a pull cut by SIGKILL runs again at start-up, reuses the chunks it had fetched, and completes; nothing half-pulled was ever visible", async () => {
  const inst = await fileInstance(a.call, a.dataDir, "pulled-twice", 32 * MiB);
  for (let chunk = 0; chunk < 8; chunk++) await changeDisk(a.dataDir, inst, chunk * 4 * MiB + 3, 1); // none on b already
  const snap = await fileSnapshot(a.call, inst, "p1");
  expect((await push(a, snap)).state).toBe("done");
  const dataDir = mkdtempSync(join(tmpdir(), "sv-pullkill-"));
  try {
    const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/pull-and-die.ts"), dataDir, JSON.stringify(s3.remote("fleet")), snap], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const [transferId, before] = (await new Response(child.stdout).text()).trim().split(" ") as [string, string];
    expect(await child.exited).not.toBe(0);
    expect(readdirSync(join(dataDir, "snapshots"))).toEqual([]); // the chunks so far were in the job's staging dir only
    expect(readdirSync(join(dataDir, "pulls"))).toEqual([transferId]);
    expect(Number(before)).toBeGreaterThan(0);
    // Staging no job will run again (its job ended some other way): start-up removes it.
    mkdirSync(join(dataDir, "pulls", "stray-job"));
    writeFileSync(join(dataDir, "pulls", "stray-job", "chunk"), "x");

    const svc = await startService({ dataDir, remotes: { local: s3.remote("fleet") } });
    try {
      const job = await settled(svc, transferId);
      expect(job).toMatchObject({ kind: "pull", state: "done", error: null });
      expect(job.chunks_done).toBe(job.chunks_total);
      expect(sha(join(dataDir, "snapshots", snap, "guest", "disk.raw"))).toBe(sha(diskOf(a, snap)));
      expect((await svc.call("GET", `/snapshots/${snap}`)).body).toMatchObject({ id: snap, name: "p1" });
      // What the first run had fetched was read back (each chunk checked), not downloaded again.
      console.log(`resumed pull: ${before} bytes downloaded before the kill, ${job.bytes_transferred} after the restart, of ${job.bytes_total}`);
      expect(job.bytes_transferred).toBeLessThan(job.bytes_total);
      expect(job.bytes_transferred + Number(before)).toBeLessThanOrEqual(job.bytes_total + 4 * 4 * MiB); // at most the chunks in flight at the kill twice
      expect(readdirSync(join(dataDir, "pulls"))).toEqual([]);
    } finally {
      await svc.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** The manifest of a snapshot on the remote, read straight from s3rver's files. */
async function manifestOnRemote(snapshotId: string, prefix = "fleet"): Promise<any> {
  try {
    return JSON.parse(readFileSync(findObject(s3.dir, `${prefix}/snapshots/${snapshotId}/manifest.json`), "utf8"));
  } catch {
    return undefined;
  }
}

/** The file s3rver keeps an object's bytes in (`<bucket>/<key>._S3rver_object`), `key` under any prefix. */
function findObject(root: string, keySuffix: string): string {
  const hits = (readdirSync(join(root, "snapshots"), { recursive: true }) as string[]).filter((rel) => rel.endsWith(`${keySuffix}._S3rver_object`));
  if (hits.length === 0) throw new Error(`no stored object ends with ${keySuffix}`);
  return join(root, "snapshots", hits[0]!);
}
