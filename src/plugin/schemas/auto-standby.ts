// auto_standby on instances and its status (reference-network §4.1, §4.3).
import { z } from "@hono/zod-openapi";
import { GoDurationSchema } from "./common.ts";
import { AUTO_STANDBY_STATUSES, TRACKING_MODE, TRACKING_MODE_CONNTRACK } from "../../core/ingress/auto-standby.ts";

export const AutoStandbyPolicySchema = z
  .object({
    enabled: z.boolean().optional(),
    idle_timeout: GoDurationSchema.optional().openapi({ description: "required when enabled, > 0; normalised (5m -> 5m0s)" }),
    ignore_source_cidrs: z.array(z.string().max(64)).max(64).optional(),
    ignore_destination_ports: z.array(z.number()).max(64).optional(),
  })
  .strict()
  .openapi("AutoStandbyPolicy");

export const PatchInstanceSchema = z.object({ auto_standby: AutoStandbyPolicySchema }).strict().openapi("PatchInstanceRequest");

export const AutoStandbyStatusSchema = z
  .object({
    supported: z.boolean(),
    configured: z.boolean(),
    enabled: z.boolean(),
    eligible: z.boolean(),
    status: z.enum(AUTO_STANDBY_STATUSES),
    reason: z.string(),
    active_inbound_connections: z.number().int(),
    tracking_mode: z.string().openapi({
      description: `${TRACKING_MODE}: ingress requests and connections, exec, file copies and mailbox deliveries count; ${TRACKING_MODE_CONNTRACK} (bridge mode with NAT, where conntrack is on): direct traffic to the guest's address counts too`,
    }),
    idle_timeout: z.string().nullable(),
    idle_since: z.string().nullable(),
    last_inbound_activity_at: z.string().nullable(),
    next_standby_at: z.string().nullable(),
    hold_until: z.string().nullable(),
    countdown_remaining: z.string().nullable(),
  })
  .openapi("AutoStandbyStatus");
