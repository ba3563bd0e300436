// Jobs are named by a typed key; the table keeps `<kind>:<id>` text, and only the repo converts.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "./db.ts";
import { JobsRepo, type JobKey, type NewJob } from "./jobs-repo.ts";
import { jobs } from "./schema.ts";

let dir: string;
let db: Db;
let repo: JobsRepo;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sv-jobs-"));
  db = openDb(join(dir, "snapvisor.db"));
  repo = new JobsRepo(db);
});
afterEach(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

function job(key: JobKey, state: NewJob["state"] = "pending"): NewJob {
  const at = new Date(1_700_000_000_000);
  return {
    key,
    state,
    policy: { enabled: true, algorithm: "zstd", level: 3 },
    dir: `/data/${key.kind}/${key.id}`,
    hypervisor: "qemu",
    notBefore: at,
    bytesDone: 0,
    bytesTotal: 0,
    error: null,
    createdAt: at,
    updatedAt: at,
  };
}

test("an instance job and a snapshot job with the same id are two jobs, each read back under its own key", () => {
  repo.put(job({ kind: "instance", id: "abc" }));
  repo.put(job({ kind: "snapshot", id: "abc" }, "running"));
  repo.update({ kind: "snapshot", id: "abc" }, { bytesDone: 42 });

  expect(repo.get({ kind: "instance", id: "abc" })).toMatchObject({ key: { kind: "instance", id: "abc" }, state: "pending", bytesDone: 0 });
  expect(repo.get({ kind: "snapshot", id: "abc" })).toMatchObject({ key: { kind: "snapshot", id: "abc" }, state: "running", bytesDone: 42 });
  expect(repo.get({ kind: "snapshot", id: "other" })).toBeUndefined();
  // The stored column keeps today's text form, so existing databases read as before.
  expect(db.select({ key: jobs.key }).from(jobs).all().map((r) => r.key).sort()).toEqual(["instance:abc", "snapshot:abc"]);
});

test("put replaces a finished job under the same key; unfinished lists typed keys and skips unreadable rows", () => {
  repo.put(job({ kind: "instance", id: "a" }, "compressed"));
  repo.put(job({ kind: "instance", id: "a" }));
  repo.put(job({ kind: "snapshot", id: "b" }, "error"));
  db.insert(jobs).values({ ...job({ kind: "instance", id: "x" }), key: "mystery-key" }).run();

  expect(repo.unfinished().map((j) => j.key)).toEqual([{ kind: "instance", id: "a" }]);
});
