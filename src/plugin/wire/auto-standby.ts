// auto_standby between the wire (Go durations, snake_case) and core.
import type { z } from "@hono/zod-openapi";
import type { AutoStandbyStatus } from "../../core/ingress/auto-standby.ts";
import { normalizeAutoStandby } from "../../core/ingress/auto-standby-policy.ts";
import type { AutoStandbyPolicy } from "../../store/schema.ts";
import type { AutoStandbyPolicySchema, AutoStandbyStatusSchema } from "../schemas/auto-standby.ts";
import { formatGoDuration } from "./go-duration.ts";
import { delay } from "./request-values.ts";

const CODE = "invalid_auto_standby";

export function autoStandbyFromWire(p: z.infer<typeof AutoStandbyPolicySchema>): AutoStandbyPolicy {
  return normalizeAutoStandby({
    enabled: p.enabled,
    idleTimeoutMs: p.idle_timeout === undefined ? undefined : delay(p.idle_timeout, "auto_standby.idle_timeout", CODE),
    ignoreSourceCidrs: p.ignore_source_cidrs,
    ignoreDestinationPorts: p.ignore_destination_ports,
  });
}

export function autoStandbyToWire(p: AutoStandbyPolicy): z.infer<typeof AutoStandbyPolicySchema> {
  if (!p.enabled) return { enabled: false };
  return {
    enabled: true,
    idle_timeout: formatGoDuration(p.idleTimeoutMs ?? 0),
    ignore_source_cidrs: p.ignoreSourceCidrs,
    ignore_destination_ports: p.ignoreDestinationPorts,
  };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
const duration = (ms: number | null) => (ms === null ? null : formatGoDuration(ms));

export function autoStandbyStatusToWire(s: AutoStandbyStatus): z.infer<typeof AutoStandbyStatusSchema> {
  return {
    supported: s.supported,
    configured: s.configured,
    enabled: s.enabled,
    eligible: s.eligible,
    status: s.status,
    reason: s.reason,
    active_inbound_connections: s.activeInboundConnections,
    tracking_mode: s.trackingMode,
    idle_timeout: duration(s.idleTimeoutMs),
    idle_since: iso(s.idleSince),
    last_inbound_activity_at: iso(s.lastInboundActivityAt),
    next_standby_at: iso(s.nextStandbyAt),
    hold_until: iso(s.holdUntil),
    countdown_remaining: duration(s.countdownRemainingMs),
  };
}
