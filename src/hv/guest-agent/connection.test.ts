// The handshake: an agent that never answers fails a request within its own limit, an agent speaking another
// protocol version fails it naming the fix, and a request never waits past its limit behind another.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, Reply } from "./frames.ts";
import { execInGuest, GuestAgentError, REPLY_GRACE_MS, TOO_OLD } from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-agent-conn-"));
const silentSocket = join(dir, "silent.sock");
const oldSocket = join(dir, "old.sock");
// Accepts connections and reads requests, never replies.
const silent = Bun.listen({ unix: silentSocket, socket: { data() {} } });
// Answers every hello as an agent of protocol 1 would, if it had one.
const old = Bun.listen({ unix: oldSocket, socket: { data: (s) => void s.write(encodeFrame(Reply.hello, 0, Buffer.from("snapvisor-agent 1"))) } });
afterAll(() => {
  silent.stop(true);
  old.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test("a silent agent fails the exec, naming its timeout plus the reply grace", async () => {
  const err = await execInGuest(silentSocket, "true", { timeoutMs: 500 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GuestAgentError);
  expect((err as Error).message).toContain(`within ${500 + REPLY_GRACE_MS} ms`);
});

test("an agent of another protocol version fails clearly: the guest image is too old", async () => {
  const err = await execInGuest(oldSocket, "true", { timeoutMs: 1_000 }).catch((e: unknown) => e);
  expect(String(err)).toContain(TOO_OLD);
});

test("a short exec started beside a long one on the same channel fails first", async () => {
  const settled: string[] = [];
  const long = execInGuest(silentSocket, "sleep 60", { timeoutMs: 60_000 }).catch(() => settled.push("long"));
  const short = await execInGuest(silentSocket, "true", { timeoutMs: 200 }).catch((e: unknown) => e);
  settled.push("short");
  expect(short).toBeInstanceOf(GuestAgentError);
  expect(settled).toEqual(["short"]);
  void long;
}, 30_000);
