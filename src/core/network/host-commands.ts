// The one place snapvisor changes the host's network: every `ip`, `tc` and `nft` run goes through here, as an
// argv array (never a shell string), and is logged with its outcome. Only bridge mode builds a runner.
import type { Logger } from "../service/logger.ts";

export const HOST_NETWORK_TOOLS = ["ip", "tc", "nft"] as const;
export type HostNetworkTool = (typeof HOST_NETWORK_TOOLS)[number];

/** A wedged tool must not hang an operation. */
export const HOST_COMMAND_TIMEOUT_MS = 10_000;

export class HostCommandError extends Error {
  override readonly name = "HostCommandError";
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")} failed (exit ${exitCode}): ${stderr.trim() || "no output"}`);
  }
}

export interface HostCommandResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

export type HostCommands = (tool: HostNetworkTool, args: string[], opts?: { stdin?: string; check?: boolean }) => Promise<HostCommandResult>;

/** Runs host network tools; with `check` (the default) a non-zero exit throws HostCommandError. */
export function hostCommands(logger: Logger): HostCommands {
  return async (tool, args, opts = {}) => {
    const argv = [tool, ...args];
    const started = performance.now();
    const proc = Bun.spawn(argv, {
      stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
      timeout: HOST_COMMAND_TIMEOUT_MS,
    });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    logger.info("host network command", { argv, exitCode, ms: Math.round(performance.now() - started), ...(exitCode ? { stderr: stderr.trim() } : {}) });
    if (exitCode !== 0 && opts.check !== false) throw new HostCommandError(argv, exitCode, stderr);
    return { stdout, stderr, exitCode };
  };
}
