// What a user does with a remote after pushing to it, against a local S3 server (s3rver on 127.0.0.1): list the
// snapshots it holds (paged, whatever else the bucket holds), delete one there (its manifest, then the chunks
// nothing else names: young chunks and those a push under way names are kept; a manifest whose chunks cannot be
// read stops the sweep), and list transfer jobs (paged, by state). Each remote is its own prefix of one bucket.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client } from "bun";
import type { TestService } from "../harness.ts";
import { S3RVER_KEYS, startLocalS3, type LocalS3 } from "../s3-server.ts";
import { changeDisk, fileInstance, fileSnapshot } from "../fixtures/file-snapshot.ts";
import { startServicePair } from "../fixtures/service-pair.ts";

const MiB = 1 << 20;
let s3: LocalS3;
let bucket: S3Client;
let a: TestService;
let b: TestService;

beforeAll(async () => {
  s3 = await startLocalS3();
  bucket = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: "us-east-1", ...S3RVER_KEYS });
  const remotes = {
    listed: s3.remote("listed"),
    gc: { ...s3.remote("gc"), gcGraceSeconds: 0 },
    young: s3.remote("young"), // the default grace period: an hour
  };
  [a, b] = await startServicePair(remotes);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await s3?.stop();
});

async function transfer(svc: TestService, started: { status: number; body: any }): Promise<any> {
  expect(started.status).toBe(202);
  await svc.sv.core.transfers.settled(started.body.id);
  return (await svc.call("GET", `/transfers/${started.body.id}`)).body;
}

async function pushTo(remote: string, snapshotId: string): Promise<any> {
  const job = await transfer(a, await a.call("POST", `/snapshots/${snapshotId}/push?remote=${remote}`));
  expect(job).toMatchObject({ state: "done", error: null });
  return job;
}

let made = 0;

/** A snapshot whose disk is unlike any other's (its own chunks), pushed to `remote`. */
async function pushedSnapshot(remote: string, name: string, chunksOfItsOwn = 2): Promise<{ instance: string; id: string }> {
  const instance = await fileInstance(a.call, a.dataDir, name, chunksOfItsOwn * 4 * MiB);
  made++;
  for (let i = 0; i < chunksOfItsOwn; i++) await changeDisk(a.dataDir, instance, i * 4 * MiB + made, 1);
  const id = await fileSnapshot(a.call, instance, name);
  await pushTo(remote, id);
  return { instance, id };
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await bucket.list({ prefix, maxKeys: 1000 });
  return (listed.contents ?? []).map((o) => o.key.slice(prefix.length));
}

const manifestOf = (svc: TestService, id: string) => JSON.parse(readFileSync(join(svc.dataDir, "snapshots", id, "manifest.json"), "utf8"));
const chunksOf = (manifest: any): Set<string> => new Set(manifest.files.flatMap((f: any) => f.chunks));

test("GET /remotes/{name}/snapshots: each snapshot from its manifest, paged by cursor; other keys and a bad manifest do not break it", async () => {
  const first = await pushedSnapshot("listed", "listed-one");
  const second = await pushedSnapshot("listed", "listed-two");
  // What a shared or hostile bucket may hold besides: stray keys, and a manifest that is not one.
  await bucket.write("listed/snapshots/README", "not ours");
  await bucket.write("listed/snapshots/zzzbroken/manifest.json", "{ not json");
  await bucket.write("listed/snapshots/NOT-AN-ID/manifest.json", "{}");

  const all = await a.call("GET", "/remotes/listed/snapshots");
  expect(all.status, JSON.stringify(all.body)).toBe(200);
  const byId = new Map(all.body.map((s: any) => [s.id, s]));
  const manifest = manifestOf(a, first.id);
  expect(byId.get(first.id)).toEqual({
    id: first.id,
    name: "listed-one",
    kind: "Stopped",
    hypervisor: manifest.hypervisor.type,
    memory_bytes: manifest.memory.bytes,
    created_at: manifest.created_at,
    total_bytes: manifest.files.reduce((sum: number, f: any) => sum + f.size, 0),
    problem: null,
  });
  expect(byId.get(second.id)).toMatchObject({ name: "listed-two", problem: null });
  expect(byId.get("zzzbroken")).toMatchObject({ name: null, total_bytes: null, problem: expect.stringContaining("not JSON") });
  expect([...byId.keys()].sort()).toEqual([first.id, second.id, "zzzbroken"].sort());

  // One key per page: every page holds at most one snapshot, the cursors lead through all of them, and stop.
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res: { status: number; body: any; headers: Headers } = await a.call("GET", `/remotes/listed/snapshots?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThanOrEqual(1);
    seen.push(...res.body.map((s: any) => s.id));
    cursor = res.headers.get("x-next-cursor");
    if (!cursor) break;
  }
  expect(cursor).toBeNull();
  expect(seen.sort()).toEqual([first.id, second.id, "zzzbroken"].sort());
});

test("remote listing and delete: 404 for an unknown remote or snapshot, 400 naming a bad limit or cursor", async () => {
  const unknown = await a.call("GET", "/remotes/elsewhere/snapshots");
  expect(unknown.status).toBe(404);
  expect(unknown.body.message).toContain("elsewhere");
  for (const limit of ["0", "1001", "x"]) {
    const res = await a.call("GET", `/remotes/listed/snapshots?limit=${limit}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("limit");
  }
  const badCursor = await a.call("GET", "/remotes/listed/snapshots?cursor=%00%01");
  expect(badCursor.status).toBe(400);
  expect(badCursor.body.message).toContain("cursor");
  expect((await a.call("DELETE", "/remotes/elsewhere/snapshots/anything")).status).toBe(404);
  const missing = await a.call("DELETE", "/remotes/gc/snapshots/nosuchsnapshot");
  expect(missing.status).toBe(404);
  expect(missing.body.message).toContain("nosuchsnapshot");
  expect((await a.call("DELETE", "/remotes/gc/snapshots/..%2Fetc")).status).toBe(404);
});

test("DELETE /remotes/{name}/snapshots/{id}: the manifest, then only the chunks nothing else names; what stays still pulls", async () => {
  const first = await pushedSnapshot("gc", "gc-first");
  // The next snapshot of the same guest: one chunk changed, the rest shared with the first.
  await changeDisk(a.dataDir, first.instance, 0, 1);
  const second = await fileSnapshot(a.call, first.instance, "gc-second");
  await pushTo("gc", second);
  const firstChunks = chunksOf(manifestOf(a, first.id));
  const secondChunks = chunksOf(manifestOf(a, second));
  const onlyFirst = [...firstChunks].filter((c) => !secondChunks.has(c));
  expect(onlyFirst.length).toBeGreaterThan(0);

  const deleted = await a.call("DELETE", `/remotes/gc/snapshots/${first.id}`);
  expect(deleted.status).toBe(200);
  console.log(`remote delete: ${JSON.stringify(deleted.body)}`);
  expect(deleted.body).toMatchObject({ chunks_deleted: onlyFirst.length, chunks_within_grace: 0, skipped: null });
  expect(deleted.body.bytes_deleted).toBeGreaterThan(0);
  expect(deleted.body.chunks_in_use).toBe(secondChunks.size);
  const left = new Set(await keys("gc/chunks/"));
  for (const chunk of onlyFirst) expect(left.has(chunk)).toBe(false);
  for (const chunk of secondChunks) expect(left.has(chunk)).toBe(true);
  expect(await keys(`gc/snapshots/${first.id}/`)).toEqual([]);
  expect((await a.call("DELETE", `/remotes/gc/snapshots/${first.id}`)).status).toBe(404);
  expect((await a.call("GET", "/remotes/gc/snapshots")).body.map((s: any) => s.id)).toEqual([second]);

  // The snapshot that stays is whole: another host pulls it.
  const pulled = await transfer(b, await b.call("POST", "/snapshots/pull", { remote: "gc", snapshot_id: second }));
  expect(pulled).toMatchObject({ state: "done", error: null });

  // The last snapshot goes: so do all its chunks.
  const last = await a.call("DELETE", `/remotes/gc/snapshots/${second}`);
  expect(last.body).toMatchObject({ chunks_deleted: secondChunks.size, chunks_in_use: 0, skipped: null });
  expect(await keys("gc/chunks/")).toEqual([]);
});

test("garbage collection keeps chunks a push under way names (its intent), and chunks within the grace period", async () => {
  // Another host's push under way: its intent names the chunks it found on the remote and will not upload.
  const kept = await pushedSnapshot("gc", "gc-intent");
  const reused = await pushedSnapshot("gc", "gc-reused");
  await bucket.write(`gc/pending/otherhostsnapshot.json`, JSON.stringify(manifestOf(a, reused.id)));
  const res = await a.call("DELETE", `/remotes/gc/snapshots/${reused.id}`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ chunks_deleted: 0, skipped: null });
  const left = new Set(await keys("gc/chunks/"));
  for (const chunk of chunksOf(manifestOf(a, reused.id))) expect(left.has(chunk)).toBe(true);
  await bucket.unlink("gc/pending/otherhostsnapshot.json");
  expect((await a.call("DELETE", `/remotes/gc/snapshots/${kept.id}`)).body.skipped).toBeNull();
  expect(await keys("gc/chunks/")).toEqual([]); // with the intent gone, nothing names them

  // The default grace period (an hour): chunks just pushed stay, unreferenced or not.
  const young = await pushedSnapshot("young", "young-one");
  const youngRes = await a.call("DELETE", `/remotes/young/snapshots/${young.id}`);
  expect(youngRes.body).toMatchObject({ chunks_deleted: 0, bytes_deleted: 0, skipped: null });
  expect(youngRes.body.chunks_within_grace).toBe(chunksOf(manifestOf(a, young.id)).size);
  expect(await keys("young/chunks/")).toHaveLength(chunksOf(manifestOf(a, young.id)).size);
});

test("a manifest whose chunks cannot be read stops the sweep: nothing is deleted but the asked-for manifest", async () => {
  const doomed = await pushedSnapshot("gc", "gc-doomed");
  await bucket.write("gc/snapshots/unreadable/manifest.json", JSON.stringify({ format_version: 99, files: "elsewhere" }));
  const res = await a.call("DELETE", `/remotes/gc/snapshots/${doomed.id}`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ chunks_deleted: 0, bytes_deleted: 0, skipped: expect.stringContaining("unreadable") });
  expect(await keys("gc/chunks/")).toHaveLength(chunksOf(manifestOf(a, doomed.id)).size);
  expect(await keys(`gc/snapshots/${doomed.id}/`)).toEqual([]);
  await bucket.unlink("gc/snapshots/unreadable/manifest.json");
});

test("GET /transfers: every job oldest first, by state, paged by cursor; 400 naming a bad state, limit or cursor", async () => {
  const all = await a.call("GET", "/transfers");
  expect(all.status).toBe(200);
  expect(all.body.length).toBeGreaterThanOrEqual(5);
  expect(all.body.every((t: any) => t.kind === "push" && t.state === "done")).toBe(true);
  const times = all.body.map((t: any) => t.created_at);
  expect(times).toEqual([...times].sort());
  expect((await a.call("GET", "/transfers?state=done")).body).toHaveLength(all.body.length);
  expect((await a.call("GET", "/transfers?state=error")).body).toEqual([]);

  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res: { status: number; body: any; headers: Headers } = await a.call("GET", `/transfers?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.body.length).toBeLessThanOrEqual(2);
    ids.push(...res.body.map((t: any) => t.id));
    cursor = res.headers.get("x-next-cursor");
    if (!cursor) break;
  }
  expect(ids).toEqual(all.body.map((t: any) => t.id));

  for (const [query, field] of [["state=bogus", "state"], ["limit=0", "limit"], ["cursor=nonsense", "cursor"]] as const) {
    const res = await a.call("GET", `/transfers?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(field);
  }
});
