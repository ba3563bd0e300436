// Exec and file copy through the protocol-2 agent of a real guest, over the API: commands run at once, a long one
// does not hold up standby, output streams before the command ends and is capped, a 50 MB file copies in and out
// intact. Prints the throughput it measured.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "bun:test";
import { bootGuest, exec, withGuestService } from "./guest.ts";
import { REPO, type TestService } from "../harness.ts";

let svc: TestService;
withGuestService((s) => (svc = s), { agent: { execOutputLimitBytes: 1_000_000 } });

let id: string;
test("boot", async () => {
  ({ id } = await bootGuest(svc, "agent-exec"));
}, 120_000);

test("8 concurrent execs in one guest all complete with their own output", async () => {
  // Each waits until all 8 have started: run one at a time, the first would wait until its timeout.
  const command = (i: number) => `echo >>/run/started; while [ $(wc -l </run/started) -lt 8 ]; do sleep 0.05; done; echo run-${i}`;
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => exec(svc, id, command(i))));
  expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `run-${i}\n`));
  console.log(`8 concurrent execs waiting for each other: ${((performance.now() - started) / 1000).toFixed(2)} s`);
}, 60_000);

test("output past the configured limit is cut and flagged, not a 500", async () => {
  const r = await exec(svc, id, "head -c 3000000 /dev/zero | tr '\\0' x");
  expect(r).toMatchObject({ exit_code: 0, stdout_truncated: true, stderr_truncated: false });
  expect(r.stdout.length).toBe(1_000_000);
}, 60_000);

test("a streamed exec delivers output before the command ends, and reads its stdin", async () => {
  const res = await svc.sv.app.request(`/instances/${id}/exec/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ command: "cat; echo started; sleep 3; echo done", stdin: "from-stdin\n" }),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const started = performance.now();
  while (!text.includes("started")) text += decoder.decode((await reader.read()).value, { stream: true });
  const firstOutputMs = performance.now() - started;
  expect(text).not.toContain("done"); // still running: `sleep 3` is ahead
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  const events = text.trim().split("\n").map((line) => JSON.parse(line));
  expect(events.filter((e) => e.type === "stdout").map((e) => e.data).join("")).toBe("from-stdin\nstarted\ndone\n");
  expect(events.at(-1)).toEqual({ type: "exit", exit_code: 0, stdout_truncated: false, stderr_truncated: false });
  console.log(`streamed exec: first output after ${firstOutputMs.toFixed(0)} ms, exit after ${(performance.now() - started).toFixed(0)} ms`);
}, 60_000);

test("a 50 MB file copies in and out with the same SHA-256", async () => {
  const content = new Uint8Array(50 * 1024 * 1024);
  for (let at = 0; at < content.length; at += 65536) crypto.getRandomValues(content.subarray(at, at + 65536));
  const sha = createHash("sha256").update(content).digest("hex");
  let started = performance.now();
  const put = await svc.sv.app.request(`/instances/${id}/files?path=/root/big.bin&mode=600`, { method: "PUT", body: content });
  expect(put.status, await put.clone().text()).toBe(200);
  expect(await put.json()).toEqual({ path: "/root/big.bin", bytes: content.length });
  const inSeconds = (performance.now() - started) / 1000;
  expect((await exec(svc, id, "sha256sum /root/big.bin")).stdout.split(" ")[0]).toBe(sha);
  started = performance.now();
  const got = await svc.sv.app.request(`/instances/${id}/files?path=/root/big.bin`);
  expect(got.status).toBe(200);
  expect(got.headers.get("content-length")).toBe(String(content.length));
  const back = new Uint8Array(await got.arrayBuffer());
  const outSeconds = (performance.now() - started) / 1000;
  expect(createHash("sha256").update(back).digest("hex")).toBe(sha);
  console.log(`file copy 50 MiB: in ${(50 / inSeconds).toFixed(1)} MiB/s, out ${(50 / outSeconds).toFixed(1)} MiB/s`);
  await exec(svc, id, "rm /root/big.bin");
}, 300_000);

test("bad paths are a 400 naming the field; a missing file is a 400 saying so", async () => {
  for (const path of ["relative/path", "/dir/", "/a%00b", `/${"x".repeat(4100)}`]) {
    const res = await svc.sv.app.request(`/instances/${id}/files?path=${path}`);
    expect(res.status, path.slice(0, 20)).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("path");
  }
  const missing = await svc.sv.app.request(`/instances/${id}/files?path=/no/such/file`);
  expect(missing.status).toBe(400);
  // The guest path itself is redacted like any absolute path outside the data dir.
  expect(((await missing.json()) as { message: string }).message).toContain("No such file or directory");
}, 60_000);

test("CLI: `cp` both ways and `instances exec --follow` against a served API", async () => {
  const socket = join(svc.dataDir, "cli.sock");
  const server = Bun.serve({ unix: socket, fetch: svc.sv.app.fetch });
  const cli = async (...args: string[]) => {
    const proc = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "--address", `unix:${socket}`, ...args], {
      stdin: new TextEncoder().encode("piped in\n"),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { stdout, stderr, code };
  };
  try {
    const local = join(svc.dataDir, "cli-in.bin");
    const back = join(svc.dataDir, "cli-out.bin");
    writeFileSync(local, crypto.getRandomValues(new Uint8Array(300_000)));
    expect(await cli("cp", "--mode", "600", local, `${id}:/root/cli.bin`)).toMatchObject({ code: 0 });
    expect(await cli("cp", `agent-exec:/root/cli.bin`, back)).toMatchObject({ code: 0 });
    expect(Buffer.compare(readFileSync(back), readFileSync(local))).toBe(0);
    expect((await cli("cp", local, back)).code).toBe(2); // neither side is in a guest
    expect(await cli("instances", "exec", "--follow", id, "--", "sh", "-c", "echo out; echo err >&2; exit 3")).toEqual({ stdout: "out\n", stderr: "err\n", code: 3 });
    expect(await cli("instances", "exec", "--follow", "--stdin", id, "--", "cat")).toEqual({ stdout: "piped in\n", stderr: "", code: 0 });
  } finally {
    await server.stop(true);
  }
}, 60_000);

test("standby while a 60 s exec runs completes promptly; the exec ends with a 409 saying why", async () => {
  const long = svc.call("POST", `/instances/${id}/exec`, { command: "touch /run/long-started; sleep 60; echo never", timeout_ms: 120_000 });
  for (let i = 0; i < 100 && (await exec(svc, id, "test -e /run/long-started && echo yes")).stdout !== "yes\n"; i++) await Bun.sleep(50);
  const started = performance.now();
  const standby = await svc.call("POST", `/instances/${id}/standby`);
  const standbyMs = performance.now() - started;
  expect(standby.status, JSON.stringify(standby.body)).toBe(200);
  expect(standby.body.state).toBe("Standby");
  const ended = await long;
  // Standby did not wait for the 60 s command: it ended it (a command that ran out would answer 200 "never").
  expect(ended.status).toBe(409);
  expect(ended.body.message).toContain("interrupted");
  console.log(`standby with a running exec: ${standbyMs.toFixed(0)} ms`);
  const restored = await svc.call("POST", `/instances/${id}/restore`);
  expect(restored.status).toBe(200);
  expect((await exec(svc, id, "echo back")).stdout).toBe("back\n");
}, 120_000);
