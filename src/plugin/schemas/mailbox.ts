// `mailboxes` on both fork endpoints (reference-network §5, delivered by the guest agent instead of memory patching).
import { z } from "@hono/zod-openapi";
import { ACK_TIMEOUT_MAX_MS, MAILBOX_NAME_PATTERN, MAX_MAILBOXES, MAX_PAYLOAD_BYTES, MAX_TOKEN_LENGTH } from "../../core/instances/mailboxes.ts";

export const MailboxSchema = z
  .object({
    name: z.string().regex(MAILBOX_NAME_PATTERN, "must be 1-64 of A-Z a-z 0-9 . _ : -"),
    token: z.string().min(1, "is required").max(MAX_TOKEN_LENGTH),
    payload: z
      .record(z.string(), z.unknown())
      .refine((p) => Buffer.byteLength(JSON.stringify(p)) <= MAX_PAYLOAD_BYTES, `must serialize to at most ${MAX_PAYLOAD_BYTES} bytes`),
    wait_for_ack: z.boolean().default(false),
    ack_timeout_ms: z.number().int().min(0).max(ACK_TIMEOUT_MAX_MS).optional().openapi({ description: "0 or absent = 2000" }),
  })
  .strict()
  .openapi("ForkMailbox", {
    description:
      "Written by the guest agent to /run/snapvisor/mailbox/<name>.json after the fork resumes, all mailboxes or none. " +
      `The payload may be up to ${MAX_PAYLOAD_BYTES} bytes serialized: more than the reference's 3832, which patched it into guest memory.`,
  });

export const MailboxesSchema = z
  .array(MailboxSchema)
  .max(MAX_MAILBOXES)
  .refine((boxes) => new Set(boxes.map((b) => b.name)).size === boxes.length, "names must be unique")
  .optional();
