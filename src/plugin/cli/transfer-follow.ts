// Follows a push or pull job until it ends, showing its progress on stderr: bytes and chunks done of the total and
// what crossed the network. A terminal gets one line rewritten in place; a pipe gets a line per 10 % step.
import type { SnapvisorClient, Transfer } from "../client.ts";

const POLL_MS = 500;
/** A transfer followed longer than this (a week of polling) is left to run; its id is printed. */
const MAX_POLLS = (7 * 24 * 3600 * 1000) / POLL_MS;
const MiB = 1024 * 1024;

export async function followTransfer(client: SnapvisorClient, started: Transfer): Promise<Transfer> {
  let job = started;
  let shownStep = -1;
  for (let polls = 0; polls < MAX_POLLS && (job.state === "pending" || job.state === "running"); polls++) {
    const step = job.bytes_total > 0 ? Math.floor((job.bytes_done / job.bytes_total) * 10) : 0;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${progressLine(job)}`);
    else if (step !== shownStep) process.stderr.write(`${progressLine(job)}\n`);
    shownStep = step;
    await Bun.sleep(POLL_MS);
    job = await client.getTransfer(job.id);
  }
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  process.stderr.write(`${progressLine(job)}\n`);
  return job;
}

export function progressLine(job: Transfer): string {
  const mib = (n: number) => (n / MiB).toFixed(1);
  const moved = job.kind === "push" ? "uploaded" : "downloaded";
  return (
    `${job.kind} ${job.snapshot_id} ${job.kind === "push" ? "to" : "from"} ${job.remote}: ${job.state} ` +
    `${mib(job.bytes_done)}/${mib(job.bytes_total)} MiB, ${job.chunks_done}/${job.chunks_total} chunks, ${mib(job.bytes_transferred)} MiB ${moved}`
  );
}
