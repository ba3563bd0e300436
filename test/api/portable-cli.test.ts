// The CLI moves a snapshot between two `snapvisor serve` processes (two data dirs): `snapshots export ID > FILE`
// on one, `snapshots import < FILE` on the other, progress on stderr; verify and compatibility answer with exit
// codes a script can test.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage, GUEST_DIR, REPO } from "../harness.ts";

const root = mkdtempSync(join(tmpdir(), "sv-pcli-"));
const hosts = { a: join(root, "a"), b: join(root, "b") };
const servers: ReturnType<typeof Bun.spawn>[] = [];

/** The CLI against the server of `dataDir`; stdin and stdout may be files. */
function sv(dataDir: string, args: string[], io: { stdin?: string; stdout?: string } = {}) {
  const r = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), ...args, "--data-dir", dataDir], {
    stdin: io.stdin ? Bun.file(io.stdin) : "ignore",
    stdout: io.stdout ? Bun.file(io.stdout) : "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout?.toString() ?? "", err: r.stderr.toString() };
}

beforeAll(async () => {
  await ensureGuestImage();
  for (const dataDir of Object.values(hosts)) {
    servers.push(Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "serve", "--data-dir", dataDir], { env: { ...process.env, SNAPVISOR_GUEST_DIR: GUEST_DIR }, stderr: "pipe" }));
    for (let i = 0; !existsSync(join(dataDir, "snapvisor.sock")); i++) {
      if (i > 500) throw new Error(`server of ${dataDir} did not start`);
      await Bun.sleep(20);
    }
  }
});
afterAll(async () => {
  for (const server of servers) server.kill("SIGTERM");
  for (const server of servers) expect(await server.exited).toBe(0);
  rmSync(root, { recursive: true, force: true });
});

test("export > file on one host, import < file on the other, with progress on stderr", async () => {
  expect(sv(hosts.a, ["instances", "create", "carried", "--size", "256MB", "--overlay-size", "64MB"]).code).toBe(0);
  const snap = JSON.parse(sv(hosts.a, ["snapshots", "create", "carried", "--kind", "Stopped", "--name", "boxed", "--json"]).out)[0];
  const archive = join(root, "boxed.tar");
  const exported = sv(hosts.a, ["snapshots", "export", snap.id, "--compress", "zstd"], { stdout: archive });
  expect(exported.code, exported.err).toBe(0);
  expect(exported.err).toMatch(new RegExp(`export ${snap.id}: [\\d.]+ MiB done`));
  expect(statSync(archive).size).toBeGreaterThan(0);
  const list = Bun.spawnSync(["tar", "-tf", archive]).stdout.toString().split("\n");
  expect(list[0]).toBe("manifest.json");

  const imported = sv(hosts.b, ["snapshots", "import", "--json"], { stdin: archive });
  expect(imported.code, imported.err).toBe(0);
  expect(imported.err).toMatch(/import: [\d.]+\/[\d.]+ MiB done/);
  expect(JSON.parse(imported.out)[0]).toMatchObject({ id: snap.id, name: "boxed", kind: "Stopped" });
  const verified = sv(hosts.b, ["snapshots", "verify", snap.id]);
  expect(verified.code).toBe(0);
  expect(JSON.parse(verified.out)).toMatchObject({ ok: true, problems: [] });
  expect(JSON.parse(sv(hosts.b, ["snapshots", "compatibility", snap.id]).out)).toEqual({ compatible: true, reasons: [] });

  const again = sv(hosts.b, ["snapshots", "import"], { stdin: archive });
  expect(again.code).toBe(1);
  expect(again.err).toContain("already exists");
}, 60_000);

test("a damaged snapshot fails verify with exit 1; export refuses a terminal and a bad --compress", () => {
  expect(sv(hosts.a, ["instances", "create", "damaged", "--size", "256MB", "--overlay-size", "64MB"]).code).toBe(0);
  const snap = JSON.parse(sv(hosts.a, ["snapshots", "create", "damaged", "--kind", "Stopped", "--json"]).out)[0];
  expect(sv(hosts.a, ["snapshots", "verify", snap.id]).code).toBe(0); // hashes it first if the job has not yet
  rmSync(join(hosts.a, "snapshots", snap.id, "snapshot.json"));
  const failed = sv(hosts.a, ["snapshots", "verify", snap.id]);
  expect(failed.code).toBe(1);
  expect(JSON.parse(failed.out).problems).toEqual([expect.objectContaining({ path: "snapshot.json", problem: "missing" })]);
  const bad = sv(hosts.a, ["snapshots", "export", snap.id, "--compress", "gzip"], { stdout: join(root, "x.tar") });
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--compress takes zstd");
}, 60_000);
