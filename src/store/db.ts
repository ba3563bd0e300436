// Opens the SQLite index (WAL) and applies the embedded migrations with drizzle's own migrator.
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { eq, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteSyncDialect, SQLiteTable } from "drizzle-orm/sqlite-core";
import { MIGRATIONS } from "./migrations.gen.ts";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/** The database holds every instance's env and tags: owner read/write only. */
const DB_FILE_MODE = 0o600;

export function openDb(file: string): Db {
  makePrivate(file);
  const client = new Database(file, { create: true, strict: true });
  client.run("PRAGMA journal_mode = WAL");
  client.run("PRAGMA synchronous = NORMAL");
  client.run("PRAGMA foreign_keys = ON");
  client.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const db = drizzle({ client, schema });
  migrate(db);
  return db;
}

/**
 * `SELECT * FROM table WHERE column = ?`, prepared once. Otherwise drizzle builds and prepares the query on
 * every call: ~50 µs against ~4 µs for a lookup by key, which nearly every API request makes.
 */
export function lookupBy<T extends SQLiteTable>(db: Db, table: T, column: SQLiteColumn): (key: string) => T["$inferSelect"] | undefined {
  const query = db.select().from(table as SQLiteTable).where(eq(column, sql.placeholder("key"))).prepare();
  return (key) => query.get({ key }) as T["$inferSelect"] | undefined;
}

/** Creates the database file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database
 * file's mode) and narrows files an older version left 0644. */
function makePrivate(file: string): void {
  closeSync(openSync(file, "a", DB_FILE_MODE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path)) chmodSync(path, DB_FILE_MODE);
  }
}

function migrate(db: Db): void {
  // Same shape and hash as drizzle's readMigrationFiles, so a database migrated either way agrees.
  const migrations: MigrationMeta[] = MIGRATIONS.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  // dialect and session are drizzle internals (what its own bun-sqlite migrator calls).
  const { dialect, session } = db as unknown as {
    dialect: SQLiteSyncDialect;
    session: Parameters<SQLiteSyncDialect["migrate"]>[1];
  };
  dialect.migrate(migrations, session, { migrationsFolder: "(embedded)" });
}
