// kill -9 of the server during a file-backed standby (issue #16): the server (a child process on a Unix socket) is
// SIGKILLed at a different moment of the standby each round. After a restart the guest is either Running or a
// complete Standby (record, RAM file and device state), never half of one; either way it is the same guest: it
// restores or runs on with its counter and its RAM contents, never booted again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage } from "../harness.ts";
import { childApi, startChildServer, stopChildServerAndGuests, type ChildProcess } from "../child-server.ts";
import { bootGuest, exec, vmmProcesses } from "./guest.ts";

const ROUNDS = 5;
const dataDir = mkdtempSync(join(tmpdir(), "sv-filemem-crash-"));
let server: ChildProcess | undefined;

async function startServer(): Promise<void> {
  const { child, line } = await startChildServer(dataDir);
  expect(line).toBe("ready");
  server = child;
}

const api = childApi(dataDir);

beforeAll(async () => {
  await ensureGuestImage();
  await startServer();
});

afterAll(() => stopChildServerAndGuests(server, dataDir));

describe("kill -9 during a file-backed standby", () => {
  test("after each restart the guest is Running or a complete Standby, and it is still the same guest", async () => {
    const { id } = await bootGuest(api, "crashmem");
    const standby = join(dataDir, "guests", id, "standby");
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      await exec(api, id, `echo round-${round} > /run/mark`);
      const call = api.call("POST", `/instances/${id}/standby`).catch(() => undefined);
      // 0 ms to ~120 ms: before the pause, during the device-state write and RAM fsync, after the record.
      await Bun.sleep(Math.floor((round * 120) / (ROUNDS - 1)));
      server!.kill("SIGKILL");
      await server!.exited;
      await call;
      server = undefined;
      await startServer();

      const state = (await api.call("GET", `/instances/${id}`)).body.state as string;
      seen.add(state);
      expect(["Running", "Standby"]).toContain(state);
      if (state === "Standby") {
        const record = JSON.parse(readFileSync(join(standby, "vm.json"), "utf8"));
        expect(record.memory_kind).toBe("ram-file");
        expect(statSync(join(standby, "memory")).size).toBe(256 * 1024 * 1024);
        expect(existsSync(join(standby, "state"))).toBe(true);
        expect(vmmProcesses(join(dataDir, "guests", id))).toEqual([]);
        const restored = await api.call("POST", `/instances/${id}/restore`);
        expect(restored.status, JSON.stringify(restored.body)).toBe(200);
      }
      expect(vmmProcesses(join(dataDir, "guests", id))).toHaveLength(1);
      expect((await exec(api, id, "cat /run/mark")).stdout).toBe(`round-${round}\n`);
      // The console log file (the API's log route needs the in-process app): one boot, ever.
      expect(readFileSync(join(dataDir, "guests", id, "logs/serial.log"), "utf8").match(/BOOT-MARKER/g)).toHaveLength(1);
    }
    console.log(`states after the kills: ${[...seen].join(", ")}`);
  });
});
