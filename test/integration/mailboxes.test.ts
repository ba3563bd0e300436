// Fork mailboxes through the guest agent: each fork of one snapshot sees only its own; an ack with the exact token
// makes the fork Running, a missing one removes it completely; bad shapes and forks that cannot receive mailboxes
// are a 400 before any work.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { bootGuest, exec, withGuestService } from "./guest.ts";
import type { TestService } from "../harness.ts";

let svc: TestService;
withGuestService((s) => (svc = s));

let snapshotId: string;
const box = (name: string, extra: Record<string, unknown> = {}) => ({ name, token: `tok-${name}`, payload: { job: name, n: 1 }, ...extra });

test("a snapshot whose guest runs a program waiting for its mailbox `job`", async () => {
  const { id } = await bootGuest(svc, "mb-src");
  // The guest-side contract from the README: wait for <name>.json, read it, acknowledge.
  const waiter = "while [ ! -f /run/snapvisor/mailbox/job.json ]; do sleep 0.1; done; cp /run/snapvisor/mailbox/job.json /run/job-seen; snapvisor-ack job";
  expect((await exec(svc, id, `setsid sh -c '${waiter}' </dev/null >/dev/null 2>&1 &`)).exit_code).toBe(0);
  // And one that acknowledges `sub` with a line that contains its token but is not it.
  const substring = "while [ ! -f /run/snapvisor/mailbox/sub.json ]; do sleep 0.1; done; echo xx-tok-sub-xx >/run/snapvisor/mailbox/sub.ack";
  expect((await exec(svc, id, `setsid sh -c '${substring}' </dev/null >/dev/null 2>&1 &`)).exit_code).toBe(0);
  const snap = await svc.call("POST", `/instances/${id}/snapshots`, { kind: "Standby", name: "mb-base" });
  expect(snap.status, JSON.stringify(snap.body)).toBe(201);
  snapshotId = snap.body.id;
}, 120_000);

test("three forks of one snapshot each receive a different mailbox and see only their own", async () => {
  for (const name of ["alpha", "beta", "gamma"]) {
    const fork = await svc.call("POST", `/snapshots/${snapshotId}/fork`, { name: `mb-${name}`, target_state: "Running", mailboxes: [box(name)] });
    expect(fork.status, JSON.stringify(fork.body)).toBe(201);
    const listing = await exec(svc, `mb-${name}`, "cd /run/snapvisor/mailbox && ls -A && stat -c %a " + `${name}.json`);
    expect(listing.stdout).toBe(`${name}.json\n${name}.token\n600\n`);
    const content = JSON.parse((await exec(svc, `mb-${name}`, `cat /run/snapvisor/mailbox/${name}.json`)).stdout);
    expect(content).toEqual({ name, token: `tok-${name}`, sequence: 1, payload: { job: name, n: 1 } });
  }
  expect((await svc.call("GET", `/snapshots/${snapshotId}`)).body.ref_count).toBe(3);
}, 120_000);

test("wait_for_ack with a guest that acknowledges: the fork is Running and its program read the mailbox", async () => {
  const fork = await svc.call("POST", `/snapshots/${snapshotId}/fork`, {
    name: "mb-acked",
    target_state: "Running",
    mailboxes: [box("job", { wait_for_ack: true, ack_timeout_ms: 20_000 }), box("extra")],
  });
  expect(fork.status, JSON.stringify(fork.body)).toBe(201);
  expect(fork.body.state).toBe("Running");
  expect(JSON.parse((await exec(svc, "mb-acked", "cat /run/job-seen")).stdout).token).toBe("tok-job");
  expect((await exec(svc, "mb-acked", "cat /run/snapvisor/mailbox/job.ack")).stdout).toBe("tok-job");
}, 120_000);

/** A fork whose mailbox fails: 409 naming it, and the fork gone without a trace (ref_count, guest dirs). */
async function expectFailedFork(name: string, mailbox: Record<string, unknown>, ...messages: string[]): Promise<void> {
  const refs = (await svc.call("GET", `/snapshots/${snapshotId}`)).body.ref_count;
  const guestsBefore = readdirSync(join(svc.dataDir, "guests")).sort();
  const fork = await svc.call("POST", `/snapshots/${snapshotId}/fork`, { name, target_state: "Running", mailboxes: [mailbox] });
  expect({ status: fork.status, code: fork.body.code }).toEqual({ status: 409, code: "mailbox_failed" });
  for (const message of messages) expect(fork.body.message).toContain(message);
  expect((await svc.call("GET", `/instances/${name}`)).status).toBe(404);
  expect((await svc.call("GET", `/snapshots/${snapshotId}`)).body.ref_count).toBe(refs);
  expect(readdirSync(join(svc.dataDir, "guests")).sort()).toEqual(guestsBefore);
}

test("without an ack the fork is gone, the error names the mailbox, nothing is left behind", async () => {
  await expectFailedFork("mb-silent", box("nobody-acks", { wait_for_ack: true, ack_timeout_ms: 1_000 }), "mailbox nobody-acks", "not acknowledged");
}, 120_000);

test("an ack that only contains the token does not count", async () => {
  await expectFailedFork("mb-substring", box("sub", { wait_for_ack: true, ack_timeout_ms: 1_500 }), "mailbox sub", "does not hold its token");
}, 120_000);

test("limits and bad shapes are a 400 naming the field, before any work", async () => {
  const bad: [unknown, string][] = [
    [Array.from({ length: 17 }, (_, i) => box(`m${i}`)), "mailboxes"],
    [[box("a b")], "mailboxes.0.name"],
    [[box("x".repeat(65))], "mailboxes.0.name"],
    [[box("dup"), box("dup")], "unique"],
    [[{ name: "t", payload: {} }], "mailboxes.0.token"],
    [[box("t", { token: "x".repeat(129) })], "mailboxes.0.token"],
    [[box("p", { payload: { big: "x".repeat(70_000) } })], "mailboxes.0.payload"],
    [[box("p", { payload: [1, 2] })], "mailboxes.0.payload"],
    [[box("a", { ack_timeout_ms: 30_001 })], "mailboxes.0.ack_timeout_ms"],
    [[box("a", { ack_timeout_ms: -1 })], "mailboxes.0.ack_timeout_ms"],
    [[box("a", { surprise: true })], "surprise"],
  ];
  for (const [mailboxes, field] of bad) {
    const res = await svc.call("POST", `/snapshots/${snapshotId}/fork`, { name: "mb-bad", target_state: "Running", mailboxes });
    expect({ field, status: res.status }).toEqual({ field, status: 400 });
    expect(res.body.message).toContain(field);
  }
  const standbyTarget = await svc.call("POST", `/snapshots/${snapshotId}/fork`, { name: "mb-bad", target_state: "Standby", mailboxes: [box("a")] });
  expect(standbyTarget.status).toBe(400);
  expect(standbyTarget.body.message).toContain("target_state Running");
  expect((await svc.call("GET", "/instances/mb-bad")).status).toBe(404);
}, 60_000);

test("a mailbox fork of a skip_guest_agent instance is a 400 before any work", async () => {
  const created = await svc.call("POST", "/instances", { name: "mb-noagent", size: "256MB", skip_guest_agent: true });
  expect(created.status).toBe(201);
  const fork = await svc.call("POST", "/instances/mb-noagent/fork", { name: "mb-noagent-fork", target_state: "Running", mailboxes: [box("a")] });
  expect(fork.status).toBe(400);
  expect(fork.body.message).toContain("skip_guest_agent");
  expect((await svc.call("GET", "/instances/mb-noagent-fork")).status).toBe(404);
}, 60_000);
