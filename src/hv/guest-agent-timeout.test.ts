// exec's timeout_ms holds even when the agent never answers (a guest that hangs, a VMM whose guest never booted):
// the request fails once its own limit and the reply grace are spent, and a request queued behind a longer one
// does not inherit that one's wait.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execInGuest, GuestAgentError, REPLY_GRACE_MS } from "./guest-agent.ts";

const dir = mkdtempSync(join(tmpdir(), "sv-agent-silent-"));
const socket = join(dir, "agent.sock");
// Accepts connections and reads requests, never replies.
const silent = Bun.listen({ unix: socket, socket: { data() {} } });
afterAll(() => {
  silent.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test("a silent agent fails the exec, naming its timeout plus the reply grace", async () => {
  const err = await execInGuest(socket, "true", { timeoutMs: 500 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GuestAgentError);
  expect((err as Error).message).toContain(`within ${500 + REPLY_GRACE_MS} ms`);
});

test("a short exec queued behind a long one on the same channel fails first", async () => {
  const settled: string[] = [];
  const long = execInGuest(socket, "sleep 60", { timeoutMs: 60_000 }).catch(() => settled.push("long"));
  const short = await execInGuest(socket, "true", { timeoutMs: 200 }).catch((e: unknown) => e);
  settled.push("short");
  expect(short).toBeInstanceOf(GuestAgentError);
  expect(settled).toEqual(["short"]); // the long one still waits for its own limit
  void long;
}, 30_000);
