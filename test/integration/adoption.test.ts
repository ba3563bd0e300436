// A server killed with SIGKILL leaves its guests' VMMs running (QEMU runs in its own session), at any point of a
// long operation. The next server on the same data dir adopts or ends every one of them: nothing is left
// unmanaged, no instance stays Paused, a Running instance's agent answers, and the same guest runs on (its boot
// count stays 1, its tick counter continuous).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGuestImage, GUEST_DIR, REPO, startService, type TestService } from "../harness.ts";
import { bootCount, consoleTicks, exec, isContinuous, vmmProcesses } from "./guest.ts";

const STEP_TIMEOUT_MS = 60_000;
let dataDir: string;
let id: string;

beforeAll(async () => {
  await ensureGuestImage();
  dataDir = mkdtempSync(join(tmpdir(), "sv-adopt-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const guest = () => join(dataDir, "guests", id);

/** True from the moment the instance's QEMU count, having been 0, is 1 again: a restore's QEMU was just spawned. */
function newQemuAfterNone(): () => boolean {
  let sawNone = false;
  return () => {
    const running = vmmProcesses(guest()).length;
    sawNone ||= running === 0;
    return sawNone && running > 0;
  };
}

/**
 * Runs a server in a child process that makes the given API calls in turn, and SIGKILLs it as soon as `killWhen`
 * holds while call `during` (0-based) is in flight.
 */
async function killDuring(calls: [string, string, unknown?][], during: number, killWhen: () => boolean): Promise<void> {
  const args = calls.flatMap(([method, path, body]) => [method, path, body === undefined ? "" : JSON.stringify(body)]);
  const child = Bun.spawn([process.execPath, join(REPO, "test/fixtures/serve-and-call.ts"), dataDir, GUEST_DIR, ...args], { stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) lines.push(...decoder.decode(chunk).split("\n").filter(Boolean));
  })();
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  while (!(lines.filter((l) => l.startsWith("done")).length === during && killWhen())) {
    if (performance.now() > deadline || lines.some((l) => l.startsWith(`done ${during} `))) {
      child.kill("SIGKILL");
      throw new Error(`the kill point was not reached while call ${during} ran: ${lines.join(" | ")}`);
    }
    await Bun.sleep(5);
  }
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
}

/**
 * After a restart: no transitional state, and exactly as many QEMUs as the state says (a QEMU left waiting for
 * its memory, or paused, would be one too many).
 */
async function settled(svc: TestService): Promise<string> {
  const inst = (await svc.call("GET", `/instances/${id}`)).body;
  expect(["Running", "Standby", "Stopped"]).toContain(inst.state);
  expect(vmmProcesses(guest()).length).toBe(inst.state === "Running" ? 1 : 0);
  return inst.state;
}

/** Brings the instance back to Running (restoring it if the crash left it in Standby) and checks it is the same guest. */
async function sameGuestRuns(svc: TestService): Promise<void> {
  if ((await svc.call("GET", `/instances/${id}`)).body.state === "Standby") {
    const res = await svc.call("POST", `/instances/${id}/restore`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  expect((await exec(svc, id, "echo still here")).stdout).toBe("still here\n");
  expect(vmmProcesses(guest()).length).toBe(1);
  expect(await bootCount(svc, id)).toBe(1);
  expect(isContinuous(await consoleTicks(svc, id))).toBe(true);
}

async function restarted(check: (svc: TestService) => Promise<void>): Promise<void> {
  const svc = await startService({ dataDir });
  try {
    await check(svc);
  } finally {
    await svc.sv.stop(); // a Running guest goes to Standby: the next step starts from there
  }
  expect(vmmProcesses(guest())).toEqual([]);
}

test("killed during a cold boot, before the agent answered: adopted once the agent answers, exec honours its timeout", async () => {
  await killDuring(
    [
      ["POST", "/instances", { name: "survivor", size: "256MB", overlay_size: "128MB" }],
      ["POST", "/instances/survivor/start"],
    ],
    1,
    // The VMM runs and is recorded (its launch record written), the guest is still booting.
    () => {
      id = readdirSync(join(dataDir, "guests"))[0] ?? "";
      return id !== "" && existsSync(join(guest(), "qemu-vm.json")) && vmmProcesses(guest()).length > 0;
    },
  );
  await restarted(async (svc) => {
    expect(await settled(svc)).toBe("Running");
    const res = await svc.call("POST", `/instances/${id}/exec`, { command: "echo hi", timeout_ms: 5000 });
    expect(res.body).toMatchObject({ exit_code: 0, stdout: "hi\n" });
    await sameGuestRuns(svc);
  });
}, 180_000);

test("killed while a standby writes the memory: the guest is not left Paused", async () => {
  // QEMU 7.2 writes memory.partial and renames it when complete (file: URIs of later versions write memory).
  const writing = () => ["memory.partial", "memory"].some((f) => existsSync(join(guest(), "standby", f)));
  await killDuring([["POST", `/instances/${id}/restore`], ["POST", `/instances/${id}/standby`]], 1, writing);
  await restarted(async (svc) => {
    await settled(svc);
    await sameGuestRuns(svc);
  });
}, 180_000);

test("killed as a restore's QEMU starts: it is ended, or adopted once it runs; the standby restores later", async () => {
  await killDuring([["POST", `/instances/${id}/restore`]], 0, newQemuAfterNone());
  await restarted(async (svc) => {
    await settled(svc);
    await sameGuestRuns(svc);
  });
}, 180_000);

test("killed while a live snapshot has its source paused for the copy: no QEMU is left paused, and a graceful stop leaves none", async () => {
  // A guest on a RAM file stays in its QEMU, paused while its memory and disk are copied (the standby dir exists).
  await killDuring(
    [
      ["POST", `/instances/${id}/restore`],
      ["POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "mid-crash" }],
    ],
    1,
    () => existsSync(join(guest(), "standby")),
  );
  await restarted(async (svc) => {
    await settled(svc);
    await sameGuestRuns(svc);
  });
}, 180_000);


test("killed with the guest running, and the database lost too: the instance is rebuilt from its record and adopts its VMM", async () => {
  await killDuring([["POST", `/instances/${id}/restore`]], 1, () => true); // killed once the restore answered
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith("snapvisor.db"))) rmSync(join(dataDir, file));
  await restarted(async (svc) => {
    expect(await settled(svc)).toBe("Running");
    expect((await svc.call("GET", `/instances/${id}`)).body.name).toBe("survivor");
    await sameGuestRuns(svc);
  });
}, 180_000);
