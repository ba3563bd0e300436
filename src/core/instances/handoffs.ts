// Post-resume handoffs: what a guest resumed under a new identity (a fork) must be told before it is reported
// Running, because it wakes up configured as its source (reference-network §2, issue #423). Each handoff is one
// named step; they run in list order through the guest agent. The first failure undoes the steps applied so far
// (those that can), then runs the one shared teardown (the VMM is ended, the network lease released) and throws an
// error naming the step; the fork operation then removes the fork. Never a silent success.
//
// Adding a handoff (mailboxes, …): append a `Handoff` to FORK_HANDOFFS. `apply` gets the instance row and an agent
// that runs shell scripts in the guest and throws on a non-zero exit; quote every value with shellQuote.
import { execInGuest } from "../../hv/guest-agent/index.ts";
import { shellQuote } from "../../hv/shell-quote.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, inStep, internal } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestNetworkOf, releaseNetwork } from "../network/leases.ts";
import { reconfigureScript } from "../network/guest-network.ts";
import { guestDir } from "./view.ts";
import { readVmConfig } from "./vm-config.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";

export interface HandoffAgent {
  /** Runs `script` in the guest; throws (naming `what`) on a non-zero exit or an unreachable agent. */
  run(script: string, what: string): Promise<void>;
}

export interface Handoff {
  /** Names the step in errors and logs. */
  name: string;
  apply(ctx: CoreContext, instance: InstanceRow, agent: HandoffAgent): Promise<void>;
  /** Reverts `apply` when a later handoff fails (best effort; the teardown follows anyway). */
  undo?(ctx: CoreContext, instance: InstanceRow, agent: HandoffAgent): Promise<void>;
}

/** A handoff script may wait on the guest's kernel (link changes); generous, it is not the readiness wait. */
export const HANDOFF_TIMEOUT_MS = 30_000;
/** Host randomness mixed into the guest's pool after a fork (Debian's cloud kernel has no CONFIG_VMGENID). */
export const ENTROPY_BYTES = 64;

/** New MAC and address on eth0; skipped for an instance without network. */
const networkHandoff: Handoff = {
  name: "network",
  async apply(ctx, instance, agent) {
    const lease = ctx.networkLeases.lease(instance.id);
    if (!instance.network?.enabled) return;
    if (!lease) throw new Error("the fork holds no network lease");
    await agent.run(reconfigureScript(guestNetworkOf(ctx, lease)), "reconfigure eth0");
  },
};

const hostnameHandoff: Handoff = {
  name: "hostname",
  async apply(_ctx, instance, agent) {
    await agent.run(`hostname ${shellQuote(instance.name)}`, "set hostname");
  },
};

/**
 * The guest must see the fork's generation id (kernels with vmgenid reseed on the change), checked rather than
 * assumed; then host randomness is mixed into its pool for kernels without vmgenid support. Octal escapes: printf
 * in every POSIX shell writes them as raw bytes, and none of them is shell syntax.
 */
const entropyHandoff: Handoff = {
  name: "entropy",
  async apply(ctx, instance, agent) {
    const expected = (await readVmConfig(guestDir(ctx, instance.id))).generationId;
    const seen = await ctx.vms.get(instance.id)?.vm.generationId?.();
    if (seen != null && seen.toLowerCase() !== expected?.toLowerCase()) {
      throw new Error(`the VM shows generation id ${seen}, not the fork's ${expected}`);
    }
    const escaped = Array.from(ctx.randomBytes(ENTROPY_BYTES), (b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
    await agent.run(`printf '${escaped}' >/dev/urandom`, "mix host entropy into the guest pool");
  },
};

export const FORK_HANDOFFS: readonly Handoff[] = [networkHandoff, hostnameHandoff, entropyHandoff];

/** Runs `handoffs` for a resumed instance (caller holds its lock). On failure the VMM is gone when this throws. */
export async function runHandoffs(ctx: CoreContext, instance: InstanceRow, handoffs: readonly Handoff[] = FORK_HANDOFFS): Promise<void> {
  const agent = guestAgentOf(ctx, instance);
  if (!agent && !instance.network?.enabled) {
    // Nothing reaches such a guest but its console: no address of the source can leak, the rest cannot be told.
    ctx.logger.warn("fork without guest agent: hostname and entropy handoffs skipped", { instance: instance.id });
    return;
  }
  const applied: Handoff[] = [];
  for (const handoff of handoffs) {
    try {
      if (!agent) throw new Error("the instance has no guest agent (skip_guest_agent), so its new network identity cannot be applied");
      await handoff.apply(ctx, instance, agent);
      applied.push(handoff);
    } catch (err) {
      for (const done of applied.reverse()) {
        await done.undo?.(ctx, instance, agent!).catch((undoErr) => ctx.logger.error("undo handoff", { instance: instance.id, step: done.name, error: String(undoErr) }));
      }
      await teardownResumed(ctx, instance.id);
      // A step that already knows what went wrong (a mailbox the guest did not acknowledge) keeps its status.
      const step = `handoff ${handoff.name} of ${instance.name}`;
      throw err instanceof DomainError ? inStep(step, err) : internal(`${step}: ${err instanceof Error ? err.message : err}`, err);
    }
  }
  ctx.logger.info("handoffs applied", { instance: instance.id, steps: handoffs.map((h) => h.name) });
}

/** The one teardown of a resume that must not be reported Running: the VMM ends, the network lease goes. */
async function teardownResumed(ctx: CoreContext, id: string): Promise<void> {
  await ctx.vms.release(id)?.kill();
  ctx.instances.update(id, { pid: null, stoppedAt: ctx.clock() });
  await releaseNetwork(ctx, id);
}

function guestAgentOf(ctx: CoreContext, instance: InstanceRow): HandoffAgent | undefined {
  // A first-release agent cannot be told anything: such a fork is handed off as one without an agent.
  const socket = instance.skipGuestAgent || runsLegacyAgent(ctx, instance.id) ? undefined : agentSocketPath(hypervisorFor(ctx, instance.hypervisor), guestDir(ctx, instance.id));
  if (!socket) return undefined;
  return {
    async run(script, what) {
      const r = await execInGuest(socket, script, { timeoutMs: HANDOFF_TIMEOUT_MS });
      if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
    },
  };
}
