// examples/embed.ts really runs: snapvisor mounted under /vm of another Hono app, with auth and shared lifecycle.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../harness.ts";

test("the embedding example serves snapvisor under /vm and stops cleanly", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sv-embed-"));
  const token = "example-token-0123456789abcdef";
  const child = Bun.spawn([process.execPath, join(REPO, "examples/embed.ts")], {
    env: { ...process.env, PORT: "0", DATA_DIR: dataDir, VM_TOKEN: token },
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const line = new TextDecoder().decode((await child.stdout.getReader().read()).value);
    const base = /listening on (\S+)/.exec(line)![1]!;
    expect(await (await fetch(`${base}/`)).text()).toContain("my service");
    expect(await (await fetch(`${base}/vm/health`)).json()).toEqual({ status: "ok" });
    const denied = await fetch(`${base}/vm/instances`);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { code: string }).code).toBe("unauthorized");
    const ok = await fetch(`${base}/vm/instances`, { headers: { authorization: `Bearer ${token}` } });
    expect((await ok.json()) as unknown[]).toEqual([]);
    const doc: any = await (await fetch(`${base}/vm/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(doc.paths["/instances"]).toBeDefined();
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  } finally {
    child.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
