// The host client against the real agent compiled for the host (host-agent.ts); test/integration/guest-boot.test.ts
// does the same against a real VM.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execInGuest, execStream, GuestAgentError, TIMED_OUT_EXIT_CODE } from "./index.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

let agent: HostAgent;
beforeAll(async () => (agent = await startHostAgent()));
afterAll(() => agent.stop());

test("returns stdout, stderr and the exit code separately", async () => {
  const r = await execInGuest(agent.socketPath, "echo out; echo err >&2; exit 3");
  expect(r).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n", stdoutTruncated: false, stderrTruncated: false });
});

test("an argv array is quoted: no word is interpreted by the shell", async () => {
  const r = await execInGuest(agent.socketPath, ["printf", "%s|", "$HOME", "a b", "`x`;"]);
  expect(r.stdout).toBe("$HOME|a b|`x`;|");
});

test("exports env to the command, and refuses names the shell cannot export", async () => {
  expect((await execInGuest(agent.socketPath, 'printf %s "$GREETING"', { env: { GREETING: "hi 'there'" } })).stdout).toBe("hi 'there'");
  await expect(execInGuest(agent.socketPath, "true", { env: { "A-B": "x" } })).rejects.toBeInstanceOf(GuestAgentError);
});

test("8 commands run at once, each gets its own output", async () => {
  // Each waits until all 8 have started: run one at a time, the first would wait for ever (and time out).
  const marks = `${agent.dir}/started`;
  const command = (i: number) => `echo >>${marks}; while [ $(wc -l <${marks}) -lt 8 ]; do sleep 0.05; done; echo ${i}`;
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => execInGuest(agent.socketPath, command(i), { timeoutMs: 20_000 })));
  expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `${i}\n`));
});

test(`a command past its timeout is killed with its children and reports ${TIMED_OUT_EXIT_CODE}`, async () => {
  const r = await execInGuest(agent.socketPath, "sleep 30 & sleep 30; echo never", { timeoutMs: 1_000 });
  expect(r.exitCode).toBe(TIMED_OUT_EXIT_CODE);
  expect(r.stdout).toBe("");
});

test("output over the limit is cut and flagged, the command still reports its exit", async () => {
  const r = await execInGuest(agent.socketPath, "head -c 300000 /dev/zero | tr '\\0' a; echo e >&2", { outputLimitBytes: 100_000 });
  expect(r.exitCode).toBe(0);
  expect(r.stdout.length).toBe(100_000);
  expect(r.stdoutTruncated).toBe(true);
  expect(r).toMatchObject({ stderr: "e\n", stderrTruncated: false });
});

test("a streamed command delivers output before it ends, and reads stdin", async () => {
  const seen: string[] = [];
  let releaseStdin!: () => void;
  const gate = new Promise<void>((resolve) => (releaseStdin = resolve));
  async function* stdin() {
    yield new TextEncoder().encode("from stdin\n");
    await gate;
  }
  const done = execStream(agent.socketPath, "echo first; cat; echo last", {
    stdin: stdin(),
    onOutput: (_stream, bytes) => seen.push(Buffer.from(bytes).toString()),
  });
  for (let i = 0; i < 100 && !seen.join("").includes("from stdin"); i++) await Bun.sleep(50);
  expect(seen.join("")).toBe("first\nfrom stdin\n"); // the command is still running: cat waits for more stdin
  releaseStdin();
  expect(await done).toEqual({ exitCode: 0 });
  expect(seen.join("")).toBe("first\nfrom stdin\nlast\n");
});

test("an aborted command is killed in the guest", async () => {
  const controller = new AbortController();
  const running = execInGuest(agent.socketPath, "sleep 30", { signal: controller.signal });
  await Bun.sleep(200);
  controller.abort();
  await expect(running).rejects.toThrow("aborted");
  // The agent ended it: nothing of it is left running.
  await Bun.sleep(100);
  expect((await execInGuest(agent.socketPath, "pgrep -f 'sleep 30' || true")).stdout).toBe("");
});
