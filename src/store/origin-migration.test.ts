// Migration 0004 on a database written before it: snapshots become "manual" except the one a schedule recorded as
// its last run (the only one the old code could prove it took), which becomes that schedule's.
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "./db.ts";
import { MIGRATIONS } from "./migrations.gen.ts";
import { SnapshotsRepo } from "./snapshots-repo.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-mig-"));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("existing snapshots are manual unless a schedule's last_snapshot_id names them", () => {
  const file = join(dir, "snapvisor.db");
  const before = MIGRATIONS.findIndex((m) => m.tag.startsWith("0004_"));
  const old = new Database(file, { create: true });
  // The database as the previous release left it: migrations 0000–0003 applied and recorded.
  for (const m of MIGRATIONS.slice(0, before)) for (const statement of m.sql.split("--> statement-breakpoint")) old.run(statement);
  old.run(`CREATE TABLE "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`);
  old.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES ('seeded', ${MIGRATIONS[before - 1]!.when})`);
  const meta = JSON.stringify({ image: "default", hypervisor: "qemu", hypervisorVersion: null, vcpus: 1, memoryBytes: 1, overlayBytes: 1, env: {}, tags: {}, snapshotPolicy: null, skipGuestAgent: false, network: null, autoStandby: null });
  const tags = JSON.stringify({ "hypeman.scheduled": "true", "hypeman.schedule_instance_id": "inst1" });
  for (const id of ["snap-last", "snap-tagged", "snap-manual"]) {
    old.run(
      `INSERT INTO snapshots (id, name, kind, tags, source_instance_id, source_instance_name, source_hypervisor, stored_metadata, size_bytes, compression_state, row_state, created_at)
       VALUES (?, ?, 'Stopped', ?, 'inst1', 'one', 'qemu', ?, 0, 'none', 'ready', 1)`,
      [id, id, id === "snap-manual" ? "{}" : tags, meta],
    );
  }
  old.run(
    `INSERT INTO schedules (instance_id, interval_ms, metadata, max_count, max_age_ms, next_run_at, last_snapshot_id, created_at, updated_at)
     VALUES ('inst1', 3600000, '{}', 3, 0, 1, 'snap-last', 1, 1)`,
  );
  old.close();

  const db = openDb(file);
  const repo = new SnapshotsRepo(db);
  expect(["snap-last", "snap-tagged", "snap-manual"].map((id) => repo.get(id)).map((r) => [r?.id, r?.origin, r?.scheduleId, r?.pinned])).toEqual([
    ["snap-last", "schedule", "inst1", false],
    ["snap-tagged", "manual", null, false],
    ["snap-manual", "manual", null, false],
  ]);
  db.$client.close();
});
