// What a QEMU binary is: its version (which decides the migration URI form) and the machine types it can
// emulate (which decides whether a snapshot written by another version can be loaded, qemu-notes.md §5).
import { HypervisorError } from "../hypervisor.ts";

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** "7.2.22": what SavedVm.version records. */
  text: string;
}

/** `file:` migration URIs exist from QEMU 8.2; older versions need `exec:cat`. */
const FILE_MIGRATION_SINCE = { major: 8, minor: 2 };

export function parseQemuVersion(output: string): QemuVersion {
  const match = /QEMU emulator version (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) throw new HypervisorError("failed", `cannot read a QEMU version from ${JSON.stringify(output.slice(0, 200))}`);
  const [major, minor, micro] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return { major, minor, micro, text: `${major}.${minor}.${micro}` };
}

/** Version parts from QMP's greeting (`{"qemu": {"major": 7, "minor": 2, "micro": 22}}`). */
export function qemuVersionOf(parts: { major: number; minor: number; micro: number }): QemuVersion {
  return { ...parts, text: `${parts.major}.${parts.minor}.${parts.micro}` };
}

export function supportsFileMigration(v: QemuVersion): boolean {
  return v.major > FILE_MIGRATION_SINCE.major || (v.major === FILE_MIGRATION_SINCE.major && v.minor >= FILE_MIGRATION_SINCE.minor);
}

/** Names (and aliases: `q35` is an alias of the newest `pc-q35-X.Y`) from `-machine help`. */
export function parseMachineTypes(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split("\n")) {
    const match = /^(\S+)\s+.*?(?:\(alias of (\S+)\))?\s*$/.exec(line);
    if (!match || line.startsWith("Supported machines")) continue;
    names.add(match[1]!);
    if (match[2]) names.add(match[2]);
  }
  return names;
}

/** A QEMU without a machine, answering QMP on stdin/stdout until `quit`. */
const QMP_PROBE_ARGS = ["-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-qmp", "stdio"];
const QMP_PROBE_INPUT = ["qmp_capabilities", "query-migrate-capabilities", "quit"].map((execute) => `${JSON.stringify({ execute })}\n`).join("");

/** The capability names in the reply to `query-migrate-capabilities` among the QMP lines of `output`. */
export function parseMigrationCapabilities(output: string): Set<string> {
  for (const line of output.split("\n")) {
    let reply: { return?: unknown };
    try {
      reply = JSON.parse(line);
    } catch {
      continue;
    }
    const list = reply.return;
    if (Array.isArray(list) && list.length > 0 && list.every((c) => typeof c?.capability === "string")) {
      return new Set(list.map((c: { capability: string }) => c.capability));
    }
  }
  throw new HypervisorError("failed", `no migration capability list in QEMU's answer: ${JSON.stringify(output.slice(0, 200))}`);
}

/** One QEMU binary; each answer is asked once and kept (a failed probe is retried next time). */
export class QemuBinary {
  private versionProbe?: Promise<QemuVersion>;
  private machinesProbe?: Promise<Set<string>>;
  private capabilitiesProbe?: Promise<Set<string>>;

  constructor(readonly path: string) {}

  version(): Promise<QemuVersion> {
    this.versionProbe ??= this.run(["--version"]).then(parseQemuVersion);
    this.versionProbe.catch(() => (this.versionProbe = undefined));
    return this.versionProbe;
  }

  machines(): Promise<Set<string>> {
    this.machinesProbe ??= this.run(["-machine", "help"]).then(parseMachineTypes);
    this.machinesProbe.catch(() => (this.machinesProbe = undefined));
    return this.machinesProbe;
  }

  /** Migration capabilities this QEMU knows (`query-migrate-capabilities` of a machine-less instance). */
  migrationCapabilities(): Promise<Set<string>> {
    this.capabilitiesProbe ??= this.run(QMP_PROBE_ARGS, QMP_PROBE_INPUT).then(parseMigrationCapabilities);
    this.capabilitiesProbe.catch(() => (this.capabilitiesProbe = undefined));
    return this.capabilitiesProbe;
  }

  private async run(args: string[], input?: string): Promise<string> {
    let proc;
    try {
      proc = Bun.spawn([this.path, ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
    } catch (err) {
      throw new HypervisorError("not_supported", `QEMU binary ${this.path} cannot be run: ${(err as Error).message}`, { cause: err });
    }
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new HypervisorError("failed", `${this.path} ${args.join(" ")} exited with ${code}: ${stderr.trim()}`);
    return stdout;
  }
}
