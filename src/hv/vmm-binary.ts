// One-off questions to a VMM binary (`--version`, `--snapshot-version`): run it, return what it printed.
import { HypervisorError } from "./hypervisor.ts";

/** `command` is the argv prefix that runs the binary (a path, or an interpreter plus a script for fakes). */
export async function askBinary(command: readonly string[], args: string[]): Promise<string> {
  let proc;
  try {
    proc = Bun.spawn([...command, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new HypervisorError("not_supported", `${command.join(" ")} cannot be run: ${(err as Error).message}`, { cause: err });
  }
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new HypervisorError("failed", `${[...command, ...args].join(" ")} exited with ${code}: ${stderr.trim()}`);
  return stdout;
}

/** Asks once and keeps the answer; a failed probe is asked again next time. */
export function once<T>(probe: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= probe();
    pending.catch(() => (pending = undefined));
    return pending;
  };
}
