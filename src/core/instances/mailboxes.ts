// Fork mailboxes (product.md §4 item 9): per-fork data handed to the guest through its agent right after the fork
// resumes, as one more post-resume handoff. Checked before any work; delivered all or nothing; with wait_for_ack
// the fork is Running only once the guest acknowledged each such mailbox with its exact token. A failure is a
// failed handoff: the fork is torn down completely and the error names the mailbox.
import { deliverMailboxes, MailboxError, waitForAck, type MailboxContent } from "../../hv/guest-agent/index.ts";
import type { Hypervisor } from "../../hv/hypervisor.ts";
import { conflict, invalidRequest } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { guestDir } from "./view.ts";

export const MAX_MAILBOXES = 16;
export const MAILBOX_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const MAX_TOKEN_LENGTH = 128;
/** Serialized payload limit: the reference's 3832 came from its memory page; files have no such bound. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const ACK_TIMEOUT_MAX_MS = 30_000;
export const DEFAULT_ACK_TIMEOUT_MS = 2_000;
/** Limit for writing all mailboxes (not the ack wait). */
const DELIVERY_TIMEOUT_MS = 30_000;
/** A fork's mailboxes are its first delivery. */
const FORK_SEQUENCE = 1;

export interface Mailbox extends MailboxContent {
  waitForAck: boolean;
  /** 0 = the default. */
  ackTimeoutMs?: number;
}

/** The boundary check of a fork with mailboxes: its target must be Running and it must have an agent. */
export function assertMailboxesDeliverable(mailboxes: Mailbox[] | undefined, target: string, hv: Hypervisor, skipGuestAgent: boolean): void {
  if (!mailboxes?.length) return;
  if (target !== "Running") throw invalidRequest(`mailboxes: need target_state Running (this fork would be ${target}): they are delivered to the running guest`);
  if (skipGuestAgent) throw invalidRequest("mailboxes: the instance was created with skip_guest_agent: no guest agent to deliver them");
  if (hv.layout().agentSocket === undefined) throw invalidRequest(`mailboxes: hypervisor ${hv.type} provides no guest-agent channel to deliver them`);
}

/** Writes `mailboxes` into a resumed fork and waits for the acks asked for: the body of the `mailboxes` handoff. */
export async function deliverForkMailboxes(ctx: CoreContext, instance: InstanceRow, mailboxes: Mailbox[]): Promise<void> {
  const socket = agentSocketPath(hypervisorFor(ctx, instance.hypervisor), guestDir(ctx, instance.id))!;
  await ctx.activity.during(instance.id, "mailbox", async () => {
    await deliverMailboxes(socket, mailboxes, FORK_SEQUENCE, DELIVERY_TIMEOUT_MS);
    await Promise.all(
      mailboxes.filter((box) => box.waitForAck).map((box) => waitForAck(socket, box.name, box.token, box.ackTimeoutMs || DEFAULT_ACK_TIMEOUT_MS)),
    );
  }).catch((err: unknown) => {
    // The guest did not take or acknowledge its mailbox: its doing, not a server fault (the fork is removed).
    throw err instanceof MailboxError ? conflict(err.message, "mailbox_failed") : err;
  });
}
