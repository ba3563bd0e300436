// Post-resume handoffs: what a guest resumed under a new identity (a fork) must be told before it is reported
// Running, because it wakes up configured as its source (reference-network §2, issue #423). Each handoff is one
// named step; they run in list order through the guest agent. The first failure undoes the steps applied so far
// (those that can), then runs the one shared teardown (the VMM is ended, the network lease released) and throws an
// error naming the step; the fork operation then removes the fork. Never a silent success.
//
// A handoff is a shell step (`script`) or anything else the agent can do (`apply`). Consecutive shell steps run as
// one script, one exec: under TCG every process a freshly resumed guest starts costs ~10 ms, and the first one
// ~90 ms while its code is translated again. Quote every value in a script with shellQuote.
import { execInGuest } from "../../hv/guest-agent/index.ts";
import type { NetworkAttachment } from "../../hv/hypervisor.ts";
import { shellQuote } from "../../hv/shell-quote.ts";
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { DomainError, inStep, internal } from "../errors.ts";
import { agentSocketPath, hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestNetworkOf, releaseNetwork } from "../network/leases.ts";
import { macChangeScript, reconfigureScript } from "../network/guest-network.ts";
import { guestDir } from "./view.ts";
import { readVmConfig } from "./vm-config.ts";
import { runsLegacyAgent } from "./guest-agent-target.ts";

export interface HandoffAgent {
  /** Runs `script` in the guest; throws (naming `what`) on a non-zero exit or an unreachable agent. */
  run(script: string, what: string): Promise<void>;
}

/** What the guest was configured as before this resume: its source's network attachment, if it had one. */
export interface ResumedFrom {
  network?: NetworkAttachment;
}

export type Handoff = {
  /** Names the step in errors and logs. */
  name: string;
} & (
  | {
      /** The step as a shell script for the guest; undefined when there is nothing to do. */
      script(ctx: CoreContext, instance: InstanceRow, from: ResumedFrom): Promise<string | undefined>;
    }
  | {
      apply(ctx: CoreContext, instance: InstanceRow, agent: HandoffAgent): Promise<void>;
      /** Reverts `apply` when a later handoff fails (best effort; the teardown follows anyway). */
      undo?(ctx: CoreContext, instance: InstanceRow, agent: HandoffAgent): Promise<void>;
    }
);

/** A handoff script may wait on the guest's kernel (link changes); generous, it is not the readiness wait. */
export const HANDOFF_TIMEOUT_MS = 30_000;
/** Host randomness mixed into the guest's pool after a fork (Debian's cloud kernel has no CONFIG_VMGENID). */
export const ENTROPY_BYTES = 64;

/**
 * New MAC and address on eth0; nothing for an instance without network. A guest that was on user-mode networking
 * and stays on it keeps its address (every user-mode guest has the same one): only its MAC changes, live, without
 * taking the link down.
 */
const networkHandoff: Handoff = {
  name: "network",
  async script(ctx, instance, from) {
    const lease = ctx.networkLeases.lease(instance.id);
    if (!instance.network?.enabled) return undefined;
    if (!lease) throw new Error("the fork holds no network lease");
    const net = guestNetworkOf(ctx, lease);
    return lease.mode === "user" && from.network?.mode === "user" ? macChangeScript(net.mac) : reconfigureScript(net);
  },
};

/** Through /proc rather than `hostname`: a shell builtin, no process. */
const hostnameHandoff: Handoff = {
  name: "hostname",
  async script(_ctx, instance) {
    return `printf '%s' ${shellQuote(instance.name)} >/proc/sys/kernel/hostname`;
  },
};

/**
 * The guest must see the fork's generation id (kernels with vmgenid reseed on the change), checked rather than
 * assumed; then host randomness is mixed into its pool for kernels without vmgenid support. Octal escapes: printf
 * in every POSIX shell writes them as raw bytes, and none of them is shell syntax.
 */
const entropyHandoff: Handoff = {
  name: "entropy",
  async script(ctx, instance) {
    const expected = (await readVmConfig(guestDir(ctx, instance.id))).generationId;
    const seen = await ctx.vms.get(instance.id)?.vm.generationId?.();
    if (seen != null && seen.toLowerCase() !== expected?.toLowerCase()) {
      throw new Error(`the VM shows generation id ${seen}, not the fork's ${expected}`);
    }
    const escaped = Array.from(ctx.randomBytes(ENTROPY_BYTES), (b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
    return `printf '${escaped}' >/dev/urandom`;
  },
};

export const FORK_HANDOFFS: readonly Handoff[] = [networkHandoff, hostnameHandoff, entropyHandoff];

/** Runs `handoffs` for a resumed instance (caller holds its lock). On failure the VMM is gone when this throws. */
export async function runHandoffs(ctx: CoreContext, instance: InstanceRow, handoffs: readonly Handoff[] = FORK_HANDOFFS, from: ResumedFrom = {}): Promise<void> {
  const agent = guestAgentOf(ctx, instance);
  if (!agent && !instance.network?.enabled) {
    // Nothing reaches such a guest but its console: no address of the source can leak, the rest cannot be told.
    ctx.logger.warn("fork without guest agent: hostname and entropy handoffs skipped", { instance: instance.id });
    return;
  }
  const applied: Handoff[] = [];
  let batch: { handoff: Handoff; script: string }[] = [];
  // Step i of a batch exits with i + 1 when it fails, which names it; the steps before it were applied.
  const flush = async (): Promise<void> => {
    const steps = batch;
    batch = [];
    if (steps.length === 0) return;
    const script = steps.map((step, i) => `{\n${step.script}\n} || exit ${i + 1}`).join("\n");
    try {
      await agent!.run(script, "handoff script");
    } catch (err) {
      const at = err instanceof ScriptExitError && err.exitCode <= steps.length ? err.exitCode - 1 : 0;
      applied.push(...steps.slice(0, at).map((step) => step.handoff));
      throw new StepError(steps[at]!.handoff, err);
    }
    applied.push(...steps.map((step) => step.handoff));
  };
  const step = async <T>(handoff: Handoff, work: () => Promise<T>): Promise<T> => work().catch((err) => Promise.reject(new StepError(handoff, err)));
  try {
    for (const handoff of handoffs) {
      if (!agent) throw new StepError(handoff, new Error("the instance has no guest agent (skip_guest_agent), so its new network identity cannot be applied"));
      if ("script" in handoff) {
        const script = await step(handoff, () => handoff.script(ctx, instance, from));
        if (script !== undefined) batch.push({ handoff, script });
        continue;
      }
      await flush();
      await step(handoff, () => handoff.apply(ctx, instance, agent));
      applied.push(handoff);
    }
    await flush();
  } catch (err) {
    const { handoff, cause } = err as StepError;
    for (const done of applied.reverse()) {
      if (!("undo" in done)) continue;
      await done.undo?.(ctx, instance, agent!).catch((undoErr) => ctx.logger.error("undo handoff", { instance: instance.id, step: done.name, error: String(undoErr) }));
    }
    await teardownResumed(ctx, instance.id);
    // A step that already knows what went wrong (a mailbox the guest did not acknowledge) keeps its status.
    const named = `handoff ${handoff.name} of ${instance.name}`;
    throw cause instanceof DomainError ? inStep(named, cause) : internal(`${named}: ${cause instanceof Error ? cause.message : cause}`, cause);
  }
  ctx.logger.info("handoffs applied", { instance: instance.id, steps: handoffs.map((h) => h.name) });
}

/** A handoff that failed, and why. */
class StepError extends Error {
  constructor(
    readonly handoff: Handoff,
    override readonly cause: unknown,
  ) {
    super(`handoff ${handoff.name} failed`);
  }
}

/** A guest script that exited non-zero. */
class ScriptExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
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
      if (r.exitCode !== 0) throw new ScriptExitError(`${what}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`, r.exitCode);
    },
  };
}
