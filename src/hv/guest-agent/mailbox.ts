// Fork mailboxes in the guest (README "Fork mailboxes"): each `<name>.json` ({ name, token, sequence, payload })
// and `<name>.token` is written to a staging dir first; only when every one is staged are they all renamed into
// /run/snapvisor/mailbox/, so a guest sees all of its mailboxes or none. An ack is `<name>.ack` holding exactly the
// token (`snapvisor-ack <name>` writes it), read back with a bounded, polling wait.
import { shellQuote } from "../shell-quote.ts";
import { GuestAgentError } from "./connection.ts";
import { execInGuest } from "./exec.ts";
import { readFileFromGuest, writeFileInGuest } from "./files.ts";

export const MAILBOX_DIR = "/run/snapvisor/mailbox";
const STAGING_DIR = `${MAILBOX_DIR}/.staging`;
/** How often an ack is looked for. */
const ACK_POLL_MS = 100;
/** An ack longer than this is not the token (tokens are at most 128 bytes). */
const MAX_ACK_BYTES = 1024;

export interface MailboxContent {
  name: string;
  token: string;
  payload: Record<string, unknown>;
}

/** Thrown with the name of the mailbox whose delivery or ack failed. */
export class MailboxError extends GuestAgentError {
  constructor(
    readonly mailbox: string,
    message: string,
  ) {
    super(`mailbox ${mailbox}: ${message}`);
  }
}

export async function deliverMailboxes(socketPath: string, mailboxes: MailboxContent[], sequence: number, timeoutMs: number): Promise<void> {
  const run = async (script: string, what: string) => {
    const result = await execInGuest(socketPath, script, { timeoutMs });
    if (result.exitCode !== 0) throw new GuestAgentError(`${what} failed (exit ${result.exitCode}): ${result.stderr.slice(0, 512)}`);
  };
  await run(`rm -rf ${STAGING_DIR} && mkdir -p -m 0700 ${STAGING_DIR}`, "preparing the mailbox dir");
  for (const box of mailboxes) {
    const json = JSON.stringify({ name: box.name, token: box.token, sequence, payload: box.payload });
    try {
      for (const [file, content] of [[`${box.name}.token`, box.token], [`${box.name}.json`, `${json}\n`]] as const) {
        await writeFileInGuest(socketPath, `${STAGING_DIR}/${file}`, once(Buffer.from(content, "utf8")), { mode: 0o600, maxBytes: Infinity, timeoutMs });
      }
    } catch (err) {
      await run(`rm -rf ${STAGING_DIR}`, "removing staged mailboxes").catch(() => undefined);
      throw new MailboxError(box.name, `write failed: ${err instanceof Error ? err.message : err}`);
    }
  }
  // What the guest had (a fork's source's mailboxes and acks) goes first: a guest sees only its own. Then the
  // token before the json: a guest that sees `<name>.json` can ack at once.
  const clear = `find ${MAILBOX_DIR} -mindepth 1 -maxdepth 1 ! -path ${STAGING_DIR} -exec rm -rf {} \\;`;
  const moves = mailboxes.map(({ name }) => {
    const [staged, live] = [`${STAGING_DIR}/${name}`, `${MAILBOX_DIR}/${name}`].map(shellQuote);
    return `mv -f ${staged}.token ${live}.token && mv -f ${staged}.json ${live}.json`;
  });
  await run(`set -e\n${clear}\n${moves.join("\n")}\nrmdir ${STAGING_DIR}`, "renaming the mailboxes into place").catch((err) => {
    throw new MailboxError(mailboxes[0]!.name, String(err instanceof Error ? err.message : err));
  });
}

/** Resolves once `<name>.ack` holds exactly `token` (one trailing newline allowed); MailboxError at the timeout. */
export async function waitForAck(socketPath: string, name: string, token: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let seen = "no ack file";
  while (performance.now() < deadline) {
    const ack = await readAck(socketPath, `${MAILBOX_DIR}/${name}.ack`, deadline).catch(() => undefined);
    if (ack !== undefined) {
      if (ack.replace(/\n$/, "") === token) return;
      seen = "an ack file that does not hold its token";
    }
    await Bun.sleep(Math.max(0, Math.min(ACK_POLL_MS, deadline - performance.now())));
  }
  throw new MailboxError(name, `not acknowledged within ${timeoutMs} ms (${seen})`);
}

async function readAck(socketPath: string, path: string, deadline: number): Promise<string> {
  const file = await readFileFromGuest(socketPath, path, { maxBytes: MAX_ACK_BYTES, timeoutMs: Math.max(1, deadline - performance.now()) });
  const parts: Uint8Array[] = [];
  for await (const chunk of file.chunks) parts.push(chunk);
  return Buffer.concat(parts).toString("utf8");
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
