// `mailboxes` from the wire (snake_case) to the domain's Mailbox.
import type { z } from "@hono/zod-openapi";
import type { Mailbox } from "../../core/instances/mailboxes.ts";
import type { MailboxesSchema } from "../schemas/mailbox.ts";

export function mailboxesFromWire(boxes: z.infer<typeof MailboxesSchema>): Mailbox[] | undefined {
  return boxes?.map((b) => ({ name: b.name, token: b.token, payload: b.payload, waitForAck: b.wait_for_ack, ackTimeoutMs: b.ack_timeout_ms }));
}
