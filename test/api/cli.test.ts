// The CLI against a real `snapvisor serve` on a Unix socket: tables for people, --json for scripts, the server's
// error message and a non-zero exit code on failure, usage errors with exit 2.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { humanBytes } from "../../src/plugin/cli/table.ts";
import { ensureGuestImage, GUEST_DIR, REPO } from "../harness.ts";

const dataDir = mkdtempSync(join(tmpdir(), "sv-cli-"));
let server: ReturnType<typeof Bun.spawn>;

function cli(...args: string[]) {
  const r = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), ...args, "--data-dir", dataDir], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(async () => {
  await ensureGuestImage();
  server = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "serve", "--data-dir", dataDir], {
    env: { ...process.env, SNAPVISOR_GUEST_DIR: GUEST_DIR },
    stdout: "inherit",
    stderr: "pipe",
  });
  const socket = join(dataDir, "snapvisor.sock");
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 300) throw new Error("server did not start");
    await Bun.sleep(20);
  }
});
afterAll(async () => {
  try {
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(join(dataDir, "snapvisor.sock"))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("create, list as a table and as JSON, inspect, remove", () => {
  const created = cli("instances", "create", "cli-one", "--size", "256MB", "--tag", "team=core");
  expect(created.code).toBe(0);
  expect(created.out).toMatch(/^ID\s+NAME\s+STATE/);
  expect(created.out).toContain("cli-one");
  const table = cli("instances", "ls");
  expect(table.out.split("\n")[1]).toMatch(/cli-one\s+Stopped\s+default\s+256MB/);
  const json = JSON.parse(cli("instances", "ls", "--json").out) as { name: string; tags: Record<string, string> }[];
  expect(json).toEqual([expect.objectContaining({ name: "cli-one", tags: { team: "core" } })]);
  expect(JSON.parse(cli("instances", "get", "cli-one").out).state).toBe("Stopped");
  const snap = cli("snapshots", "create", "cli-one", "--kind", "Stopped", "--name", "s1", "--json");
  expect(snap.code).toBe(0);
  expect(JSON.parse(snap.out)[0]).toMatchObject({ name: "s1", kind: "Stopped", ref_count: 0 });
  expect(cli("snapshots", "ls").out).toContain("s1");
  expect(cli("schedule", "set", "cli-one", "--interval", "1h", "--max-count", "3").code).toBe(0);
  expect(JSON.parse(cli("schedule", "get", "cli-one").out).interval).toBe("1h0m0s");
  expect(cli("instances", "rm", "cli-one").code).toBe(0);
  expect(JSON.parse(cli("instances", "ls", "--json").out)).toEqual([]);
});

test("snapshots ls shows the disk a snapshot occupies beside its apparent (sparse) size", () => {
  expect(cli("instances", "create", "cli-sizes", "--size", "256MB").code).toBe(0);
  const snap = JSON.parse(cli("snapshots", "create", "cli-sizes", "--kind", "Stopped", "--name", "sparse", "--json").out)[0];
  // The 1 GB overlay is a sparse file: it claims far more than it occupies.
  expect(snap.allocated_bytes).toBeGreaterThan(0);
  expect(snap.allocated_bytes).toBeLessThan(snap.size_bytes / 4);
  const [header, row] = cli("snapshots", "ls", "--instance", snap.source_instance_id).out.split("\n");
  expect(header).toMatch(/\bDISK\s+APPARENT\b/);
  expect(row).toContain(`${humanBytes(snap.allocated_bytes)}  ${humanBytes(snap.size_bytes)}`);
  expect(cli("snapshots", "delete", snap.id).code).toBe(0);
  expect(cli("instances", "delete", "cli-sizes").code).toBe(0);
});

test("a newcomer's words work: delete, remove, list, singular group names", () => {
  for (const name of ["cli-a", "cli-b"]) expect(cli("instances", "create", name).code).toBe(0);
  const source = JSON.parse(cli("instance", "get", "cli-a").out).id;
  const s1 = JSON.parse(cli("snapshot", "create", "cli-a", "--kind", "Stopped", "--json").out)[0].id;
  const s2 = JSON.parse(cli("snapshots", "create", "cli-a", "--kind", "Stopped", "--json").out)[0].id;
  expect(cli("snapshots", "delete", s1)).toMatchObject({ code: 0, err: "" });
  expect(cli("snapshot", "remove", s2).code).toBe(0);
  expect(JSON.parse(cli("snapshots", "list", "--instance", source, "--json").out)).toEqual([]);
  expect(cli("instances", "delete", "cli-a").code).toBe(0);
  expect(cli("instance", "rm", "cli-b").code).toBe(0);
  expect(JSON.parse(cli("instances", "list", "--json").out)).toEqual([]);
  expect(cli("instances", "delete", "cli-a")).toMatchObject({ code: 1, err: expect.stringContaining("not_found") });
  expect(cli("instances", "constructor").code).toBe(2);
});

test("server errors are printed with their code and exit 1; usage errors exit 2", () => {
  const missing = cli("instances", "restore", "nope");
  expect(missing.code).toBe(1);
  expect(missing.err).toContain("error: instance not found (not_found, HTTP 404)");
  const bad = cli("instances", "create", "Bad_Name");
  expect(bad.code).toBe(1);
  expect(bad.err).toContain("invalid_request");
  expect(cli("instances", "frobnicate").code).toBe(2);
  expect(cli("instances", "exec", "x").code).toBe(2);
  expect(cli("--help").code).toBe(0);
  const down = cli("instances", "ls", "--address", `unix:${join(dataDir, "missing.sock")}`);
  expect(down.code).toBe(1);
  expect(down.err).toContain(`cannot reach snapvisor at unix:${join(dataDir, "missing.sock")} (is \`snapvisor serve\` running?)`);
});

test("retention and lineage: schedule set with tiers, preview as a table, pin and unpin, lineage as a tree", () => {
  expect(cli("instances", "create", "cli-ret", "--size", "256MB").code).toBe(0);
  const ids = [1, 2, 3].map((i) => JSON.parse(cli("snapshots", "create", "cli-ret", "--kind", "Stopped", "--name", `m${i}`, "--json").out)[0].id as string);
  const set = cli("schedule", "set", "cli-ret", "--cron", "*/15 * * * *", "--timezone", "Europe/Berlin", "--keep-last", "4", "--keep-daily", "7", "--json");
  expect(set.code).toBe(0);
  expect(JSON.parse(set.out)).toMatchObject({ cron: "*/15 * * * *", timezone: "Europe/Berlin", retention: { keep_last: 4, keep_daily: 7 } });
  expect(cli("schedule", "set", "cli-ret", "--cron", "61 * * * *", "--keep-last", "1").err).toContain("cron:");
  // Manual snapshots are not the schedule's: nothing to keep or remove yet.
  const preview = cli("schedule", "preview", "cli-ret");
  expect(preview.code).toBe(0);
  expect(preview.out.split("\n")[0]).toMatch(/^ACTION\s+CREATED_AT\s+NAME\s+ID\s+PINNED\s+REF_COUNT\s+REASONS$/);
  expect(preview.out).toContain("keep 0, remove 0");
  expect(cli("schedule", "preview", "cli-ret", "--interval", "1h", "--keep-hourly", "x").err).toContain("retention.keep_hourly");

  expect(JSON.parse(cli("snapshots", "pin", ids[0]!, "--json").out)[0].pinned).toBe(true);
  expect(cli("snapshots", "delete", ids[0]!).err).toContain("pinned");
  expect(JSON.parse(cli("snapshots", "unpin", ids[0]!, "--json").out)[0].pinned).toBe(false);
  expect(JSON.parse(cli("snapshots", "create", "cli-ret", "--kind", "Stopped", "--pin", "--json").out)[0].pinned).toBe(true);

  const tree = cli("lineage", "cli-ret").out.split("\n");
  expect(tree[0]).toMatch(/^instance cli-ret \(\w+\) Stopped/);
  expect(tree.slice(1, 4)).toEqual(ids.map((id, i) => expect.stringMatching(new RegExp(`^├── snapshot m${i + 1} \\(${id}\\) Stopped  \\[forks 0, disk `))));
  expect(tree[4]).toMatch(/^└── snapshot - /);
  expect(cli("lineage", ids[1]!).out.split("\n")[0]).toMatch(/^from: instance cli-ret/);
  expect(cli("lineage", "nope").err).toContain("snapshot not found");
}, 60_000);
