// Idle auto-standby (reference-network §4): a Running instance whose policy is enabled goes to Standby once no
// activity (ingress requests and connections, exec, file copies, mailbox deliveries: activity.ts; in bridge mode
// with NAT also direct traffic seen by conntrack: conntrack.ts) was seen for its idle_timeout. A periodic tick decides; the standby itself re-checks under the instance lock (standby's
// `stillWanted`), so a request that arrived during the countdown always wins. Holds (in memory only, in
// auto-standby-state.ts) push the standby back to hold_until; a hold can be released.
import type { AutoStandbyPolicy } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { invalidState } from "../errors.ts";
import { standbyInstance } from "../instances/standby.ts";
import { loadInstance, resolveInstance } from "../instances/view.ts";
import type { Tracked } from "./auto-standby-state.ts";
import { directActivity, readConntrack, type DirectActivity } from "./conntrack.ts";
import { networkCapabilities } from "../network/capabilities.ts";

/** What the status reports as counted: our ingress (exact) and the agent's operations, plus conntrack's view of
 * direct traffic where it is read. */
export const TRACKING_MODE = "ingress_and_agent";
export const TRACKING_MODE_CONNTRACK = "ingress_agent_and_conntrack";

/** Direct traffic per instance, from one read of conntrack; undefined when it is not read (user mode: every
 * packet passes our forwards; bridge mode without NAT: no rule turns conntrack on; or the file is unreadable). */
type DirectSeen = (id: string) => DirectActivity | undefined;
const NOT_READ: DirectSeen = () => undefined;

function directSeen(ctx: CoreContext): DirectSeen {
  const net = ctx.config.network;
  const table = net.mode === "bridge" && net.nat && net.uplink ? readConntrack() : undefined;
  if (!table) return NOT_READ;
  const hostIp = networkCapabilities(ctx).gateway;
  const now = ctx.clock();
  return (id) => {
    const row = ctx.instances.get(id);
    const guestIp = row ? ctx.networkLeases.lease(id)?.ip : undefined;
    return guestIp ? directActivity(table.entries, { guestIp, hostIp, policy: row?.autoStandby ?? null }, now, table.timeoutOf) : undefined;
  };
}

export const AUTO_STANDBY_STATUSES = ["unsupported", "disabled", "ineligible", "standby_requested", "active", "idle_countdown", "ready_for_standby"] as const;
export type AutoStandbyStatusName = (typeof AUTO_STANDBY_STATUSES)[number];

export interface AutoStandbyStatus {
  supported: boolean;
  configured: boolean;
  enabled: boolean;
  eligible: boolean;
  status: AutoStandbyStatusName;
  reason: string;
  activeInboundConnections: number;
  trackingMode: string;
  idleTimeoutMs: number | null;
  idleSince: Date | null;
  lastInboundActivityAt: Date | null;
  nextStandbyAt: Date | null;
  holdUntil: Date | null;
  countdownRemainingMs: number | null;
}

const SUPPORTED = process.platform === "linux";

/** Starts the periodic decision; the returned function stops it and waits for the standbys under way. */
export function startAutoStandby(ctx: CoreContext): () => Promise<void> {
  if (!SUPPORTED) return async () => {};
  const timer = setInterval(() => autoStandbyTick(ctx), ctx.autoStandby.config.tickMs);
  return async () => {
    clearInterval(timer);
    await Promise.allSettled(ctx.autoStandby.inFlight.values());
  };
}

export function autoStandbyTick(ctx: CoreContext): void {
  const { tracked, inFlight, config } = ctx.autoStandby;
  const live = new Set(ctx.vms.ids());
  for (const id of tracked.keys()) if (!live.has(id)) tracked.delete(id);
  const seen = live.size > 0 ? directSeen(ctx) : NOT_READ;
  for (const id of live) {
    if (inFlight.has(id) || inFlight.size >= config.maxConcurrent) continue;
    if (due(ctx, id, seen(id))) fire(ctx, id);
  }
}

export async function autoStandbyStatus(ctx: CoreContext, ref: string): Promise<AutoStandbyStatus> {
  const view = await loadInstance(ctx, ref);
  const policy = view.autoStandby;
  const t = ctx.autoStandby.tracked.get(view.id);
  const seen = directSeen(ctx);
  const direct = seen(view.id);
  const active = ctx.activity.active(view.id) + (direct?.open ?? 0);
  const base = {
    supported: SUPPORTED,
    configured: policy !== null,
    enabled: policy?.enabled ?? false,
    eligible: false,
    activeInboundConnections: active,
    trackingMode: seen === NOT_READ ? TRACKING_MODE : TRACKING_MODE_CONNTRACK,
    idleTimeoutMs: policy?.idleTimeoutMs ?? null,
    idleSince: null,
    lastInboundActivityAt: latest(ctx.activity.lastActivityAt(view.id), direct?.lastAt) ?? null,
    nextStandbyAt: null,
    holdUntil: t?.holdUntil ?? null,
    countdownRemainingMs: null,
  };
  const say = (status: AutoStandbyStatusName, reason: string) => ({ ...base, status, reason });
  if (!SUPPORTED) return say("unsupported", "unsupported_platform");
  if (!policy) return say("disabled", "policy_missing");
  if (!policy.enabled) return say("disabled", "policy_disabled");
  if (ctx.autoStandby.inFlight.has(view.id)) return say("standby_requested", "ready_for_standby");
  if (view.state !== "Running") return say("ineligible", "instance_not_running");
  if (!view.network.enabled) return say("ineligible", "network_disabled");
  if (!view.network.ip) return say("ineligible", "missing_ip");
  const eligible = { ...base, eligible: true };
  if (active > 0) return { ...eligible, status: "active", reason: "active_inbound_connections" };
  const idleSince = idleSinceOf(ctx, view.id, direct);
  const next = deadline(policy, idleSince, t?.holdUntil);
  const remaining = Math.max(0, next.getTime() - ctx.clock().getTime());
  const timing = { idleSince, nextStandbyAt: next, countdownRemainingMs: remaining };
  if (remaining > 0) return { ...eligible, ...timing, status: "idle_countdown", reason: "idle_timeout_not_elapsed" };
  return { ...eligible, ...timing, status: "ready_for_standby", reason: "ready_for_standby" };
}

/** hold_until = now + the policy's idle_timeout, replacing any earlier hold (reference #324). */
export async function holdAutoStandby(ctx: CoreContext, ref: string): Promise<AutoStandbyStatus> {
  const { id, autoStandby } = resolveInstance(ctx, ref);
  if (ctx.autoStandby.inFlight.has(id)) throw invalidState("a standby of this instance is under way", "instance_in_standby");
  if (autoStandby?.enabled && autoStandby.idleTimeoutMs && ctx.vms.get(id)) {
    track(ctx, id).holdUntil = new Date(ctx.clock().getTime() + autoStandby.idleTimeoutMs);
  }
  const status = await autoStandbyStatus(ctx, id);
  if ((await loadInstance(ctx, id)).state === "Standby") throw invalidState("instance is in Standby", "instance_in_standby");
  return status;
}

/** Ends a hold: the countdown decides again. */
export async function releaseAutoStandby(ctx: CoreContext, ref: string): Promise<AutoStandbyStatus> {
  const { id } = resolveInstance(ctx, ref);
  const t = ctx.autoStandby.tracked.get(id);
  if (t) t.holdUntil = undefined;
  return autoStandbyStatus(ctx, id);
}

function track(ctx: CoreContext, id: string): Tracked {
  const { tracked } = ctx.autoStandby;
  let t = tracked.get(id);
  if (!t) tracked.set(id, (t = { idleSince: ctx.clock() }));
  return t;
}

const latest = (a: Date | undefined, b: Date | undefined) => (a && b ? (a > b ? a : b) : (a ?? b));

/** Idle since the later of: when auto-standby first saw the VM live, and the last activity. */
function idleSinceOf(ctx: CoreContext, id: string, direct: DirectActivity | undefined): Date {
  const t = track(ctx, id);
  const last = latest(ctx.activity.lastActivityAt(id), direct?.lastAt);
  if (!t.idleSince || (last && last > t.idleSince)) t.idleSince = last ?? ctx.clock();
  return t.idleSince;
}

function deadline(policy: AutoStandbyPolicy, idleSince: Date, holdUntil: Date | undefined): Date {
  const at = idleSince.getTime() + (policy.idleTimeoutMs ?? 0);
  return new Date(Math.max(at, holdUntil?.getTime() ?? 0));
}

/** Eligible, nothing active, and past the idle deadline and any hold. */
function due(ctx: CoreContext, id: string, direct: DirectActivity | undefined): boolean {
  const policy = ctx.instances.get(id)?.autoStandby;
  if (!policy?.enabled || !ctx.vms.get(id)?.ready) {
    ctx.autoStandby.tracked.delete(id);
    return false;
  }
  if (ctx.activity.active(id) > 0 || (direct?.open ?? 0) > 0) {
    track(ctx, id).idleSince = undefined;
    return false;
  }
  return ctx.clock() >= deadline(policy, idleSinceOf(ctx, id, direct), ctx.autoStandby.tracked.get(id)?.holdUntil);
}

function fire(ctx: CoreContext, id: string): void {
  const state = ctx.autoStandby;
  // The last check under the lock reads conntrack afresh, like everything else it looks at.
  const run = standbyInstance(ctx, id, { stillWanted: () => due(ctx, id, directSeen(ctx)(id)) })
    .then((view) => {
      if (view.state === "Standby") {
        state.tracked.delete(id);
        state.counts.standbys++;
        ctx.metrics.autoStandbys.inc({ result: "standby" });
        ctx.logger.info("auto-standby", { instance: id });
      } else {
        state.counts.cancelled++;
        ctx.metrics.autoStandbys.inc({ result: "cancelled" });
      }
    })
    .catch((err) => {
      ctx.metrics.autoStandbys.inc({ result: "failed" });
      ctx.logger.warn("auto-standby failed; the countdown restarts", { instance: id, error: String(err) });
      track(ctx, id).idleSince = ctx.clock();
    })
    .finally(() => state.inFlight.delete(id));
  state.inFlight.set(id, run);
}
