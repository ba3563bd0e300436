// The CLI moves a snapshot between two `snapvisor serve` processes (own data dirs, remotes from a config file)
// through a local S3 server: `snapshots push ID --remote R` and `snapshots pull R ID` follow the job and print its
// progress (bytes and chunks, uploaded or downloaded), `--json` prints the finished transfer, `remotes ls` shows
// no credentials, `remotes snapshots` and `remotes delete` show and remove what a remote holds, `transfers ls`
// lists jobs by state, and a failure is the server's message with exit 1.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage, GUEST_DIR, REPO } from "../harness.ts";
import { startLocalS3, type LocalS3 } from "../s3-server.ts";

const work = mkdtempSync(join(tmpdir(), "sv-remotes-cli-"));
const dirs = { a: join(work, "a"), b: join(work, "b") };
let s3: LocalS3;
const servers: ReturnType<typeof Bun.spawn>[] = [];

function cli(dataDir: string, ...args: string[]) {
  const r = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), ...args, "--data-dir", dataDir], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(async () => {
  await ensureGuestImage();
  s3 = await startLocalS3();
  const config = join(work, "config.json");
  writeFileSync(config, JSON.stringify({ remotes: { shared: s3.remote("cli") }, scheduler: { enabled: false } }));
  for (const dataDir of Object.values(dirs)) {
    servers.push(
      Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "serve", "--data-dir", dataDir, "--config", config], {
        env: { ...process.env, SNAPVISOR_GUEST_DIR: GUEST_DIR },
        stdout: "inherit",
        stderr: "pipe",
      }),
    );
    for (let i = 0; !existsSync(join(dataDir, "snapvisor.sock")); i++) {
      if (i > 500) throw new Error("server did not start");
      await Bun.sleep(20);
    }
  }
});
afterAll(async () => {
  for (const server of servers) server.kill("SIGTERM");
  for (const server of servers) await server.exited;
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("snapshots push and pull through the CLI, with progress; remotes ls without secrets", () => {
  const remotes = cli(dirs.a, "remotes", "ls");
  expect(remotes.code).toBe(0);
  expect(remotes.out).toMatch(/shared\s+http:\/\/127\.0\.0\.1:\d+\s+snapshots\s+cli/);
  expect(remotes.out).not.toContain("S3RVER");

  expect(cli(dirs.a, "instances", "create", "moving", "--size", "256MB").code).toBe(0);
  const snap = JSON.parse(cli(dirs.a, "snapshots", "create", "moving", "--kind", "Stopped", "--name", "m1", "--json").out)[0];

  const pushed = cli(dirs.a, "snapshots", "push", snap.id, "--remote", "shared", "--json");
  expect(pushed.code, pushed.err).toBe(0);
  expect(JSON.parse(pushed.out)).toMatchObject({ kind: "push", state: "done", snapshot_id: snap.id });
  expect(pushed.err).toMatch(new RegExp(`push ${snap.id} to shared: done [\\d.]+/[\\d.]+ MiB, (\\d+)/\\1 chunks, [\\d.]+ MiB uploaded`));

  const pulled = cli(dirs.b, "snapshots", "pull", "shared", snap.id);
  expect(pulled.code, pulled.err).toBe(0);
  expect(pulled.err).toMatch(new RegExp(`pull ${snap.id} from shared: done .* MiB downloaded`));
  expect(JSON.parse(cli(dirs.b, "snapshots", "get", snap.id).out)).toMatchObject({ id: snap.id, name: "m1", kind: "Stopped" });

  const again = cli(dirs.b, "snapshots", "pull", "shared", snap.id);
  expect(again.code).toBe(1);
  expect(again.err).toContain("already exists");
  const usage = cli(dirs.a, "snapshots", "push", snap.id);
  expect(usage.code).toBe(2);
  expect(usage.err).toContain("--remote");
});

test("remotes snapshots lists what the remote holds, remotes delete removes one and says what went, transfers ls lists jobs", () => {
  expect(cli(dirs.a, "instances", "create", "listed", "--size", "256MB").code).toBe(0);
  const snap = JSON.parse(cli(dirs.a, "snapshots", "create", "listed", "--kind", "Stopped", "--name", "l1", "--json").out)[0];
  expect(cli(dirs.a, "snapshots", "push", snap.id, "--remote", "shared").code).toBe(0);

  const listed = cli(dirs.b, "remotes", "snapshots", "shared");
  expect(listed.code, listed.err).toBe(0);
  expect(listed.out).toMatch(new RegExp(`${snap.id}\\s+l1\\s+Stopped`));
  const asJson = JSON.parse(cli(dirs.b, "remotes", "snapshots", "shared", "--json").out);
  expect(asJson.find((s: any) => s.id === snap.id)).toMatchObject({ name: "l1", problem: null });
  const unknown = cli(dirs.b, "remotes", "snapshots", "elsewhere");
  expect(unknown.code).toBe(1);
  expect(unknown.err).toContain("elsewhere");

  const jobs = JSON.parse(cli(dirs.a, "transfers", "ls", "--state", "done", "--json").out);
  expect(jobs.find((t: any) => t.snapshot_id === snap.id)).toMatchObject({ kind: "push", state: "done", remote: "shared" });
  const badState = cli(dirs.a, "transfers", "ls", "--state", "finished");
  expect(badState.code).toBe(1);
  expect(badState.err).toContain("state");

  // The default grace period keeps the chunks just pushed; the manifest goes at once.
  const deleted = cli(dirs.b, "remotes", "delete", "shared", snap.id, "--json");
  expect(deleted.code, deleted.err).toBe(0);
  expect(JSON.parse(deleted.out)).toMatchObject({ chunks_deleted: 0, bytes_deleted: 0, skipped: null });
  expect(cli(dirs.b, "remotes", "snapshots", "shared").out).not.toContain(snap.id);
  expect(cli(dirs.b, "remotes", "delete", "shared", snap.id).code).toBe(1);
});
