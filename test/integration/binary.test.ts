// The single-file executable: built with `bun build --compile`, copied alone into an empty directory (no
// node_modules, no sources), it serves the API and does a real snapshot round trip with a real guest.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SnapvisorClient } from "../../src/plugin/client.ts";
import { GUEST_DIR, REPO, ensureGuestImage } from "../harness.ts";

let work: string;
let server: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  await ensureGuestImage();
  work = mkdtempSync(join(tmpdir(), "sv-bin-"));
});
afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  rmSync(work, { recursive: true, force: true });
});

test("dist/snapvisor runs from an empty directory and round-trips a snapshot", async () => {
  const outfile = join(REPO, "dist", "snapvisor");
  const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: REPO, stderr: "pipe", stdout: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const alone = join(work, "run");
  Bun.spawnSync(["mkdir", "-p", alone]);
  copyFileSync(outfile, join(alone, "snapvisor"));
  Bun.spawnSync(["chmod", "+x", join(alone, "snapvisor")]);
  console.log(`binary size: ${(statSync(join(alone, "snapvisor")).size / 1e6).toFixed(1)} MB`);

  const socket = join(alone, "data", "snapvisor.sock");
  const started = performance.now();
  server = Bun.spawn([join(alone, "snapvisor"), "serve", "--data-dir", join(alone, "data")], {
    cwd: alone,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SNAPVISOR_GUEST_DIR: GUEST_DIR },
    stdout: "inherit",
    stderr: "pipe",
  });
  const client = new SnapvisorClient({ address: `unix:${socket}` });
  for (;;) {
    if (existsSync(socket) && (await client.health().catch(() => null))) break;
    if (performance.now() - started > 30_000) throw new Error(`server did not come up: ${await new Response(server.stderr as ReadableStream).text()}`);
    await Bun.sleep(5);
  }
  console.log(`time to first response: ${(performance.now() - started).toFixed(0)} ms`);

  // The API reference works offline from the binary alone: the page and the renderer's files are embedded in it.
  const page = await fetch("http://localhost/docs", { unix: socket });
  expect(await page.text()).toContain('src="docs/swagger-ui-bundle.js"');
  const script = await fetch("http://localhost/docs/swagger-ui-bundle.js", { unix: socket });
  expect(script.headers.get("content-type")).toStartWith("text/javascript");
  expect(await script.text()).toContain("SwaggerUIBundle");
  const stylesheet = await fetch("http://localhost/docs/swagger-ui.css", { unix: socket });
  expect(await stylesheet.text()).toContain(".swagger-ui");

  await client.createInstance({ name: "bin", size: "256MB", overlay_size: "128MB" });
  expect((await client.startInstance("bin")).state).toBe("Running");
  const snap = await client.createSnapshot("bin", { kind: "Standby", name: "s1", compression: { enabled: true, algorithm: "lz4" } });
  // The codec Worker is a second entry point of the binary: wait for it to compress, then fork (decompression).
  for (let s = snap; s.compression_state !== "compressed"; s = await client.getSnapshot(snap.id)) {
    expect(s.compression_state).toBe("compressing");
    await Bun.sleep(100);
  }
  const fork = await client.forkSnapshot(snap.id, { name: "bin-fork" });
  expect(fork.state).toBe("Running");
  expect((await client.exec("bin-fork", { command: ["echo", "from the binary"] })).stdout).toBe("from the binary\n");
  const compressedLater = await client.standbyInstance("bin", { compression: { enabled: true, algorithm: "zstd" } });
  expect(compressedLater.state).toBe("Standby");
  expect((await client.restoreInstance("bin")).state).toBe("Running");
});
