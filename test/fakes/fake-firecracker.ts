// A fake `firecracker` process: same flags (`--api-sock`, `--log-path` (must exist), `--version`,
// `--snapshot-version`), the documented state machine and quirks (hypervisor-apis.md §2, §6, §7.2): pre-boot
// PUTs, InstanceStart → Running ⇄ Paused via PATCH /vm; /snapshot/create only when Paused, the memory file
// written in place (no truncate when the size matches); /snapshot/load only on a fresh process, exactly one of
// mem_file_path / mem_backend, drives reopened at their recorded paths (relative to the cwd), fatal after a failed
// load; unknown fields, empty PUT/PATCH bodies and unknown routes → 400 `{"fault_message"}`; SendCtrlAltDel makes
// the fake guest reset, and Firecracker exits. The serial console is stdout.
//
// Fake-only flags: --fake-log <file>, --fake-exit-on-start <code>, --fake-version <X.Y.Z> (default 1.16.1), --fake-snapshot-format <X.Y.Z>
// (default 10.0.0), --fake-fail-snapshot-load (every /snapshot/load fails as a corrupt snapshot would: a restore
// that cannot succeed, deterministically).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { CallLog, parseFlags, readGuestMemory, serveFake, writeGuestMemory, type FakeAnswer } from "./fake-vmm.ts";

const flags = parseFlags(process.argv.slice(2));
const version = flags.get("--fake-version") || "1.16.1";
const format = flags.get("--fake-snapshot-format") || "10.0.0";

if (flags.has("--version")) {
  console.log(`Firecracker v${version}\n`);
  process.exit(0);
}
if (flags.has("--snapshot-version")) {
  console.log(`v${format}`);
  process.exit(0);
}
if (flags.has("--fake-exit-on-start")) {
  console.error("fake: exiting at start as asked (--fake-exit-on-start)");
  process.exit(Number(flags.get("--fake-exit-on-start")) || 1);
}
const logPath = flags.get("--log-path");
if (logPath !== undefined && !existsSync(logPath)) {
  console.error(`Error: Logger(Init(Os { code: 2, kind: NotFound, message: "No such file or directory" }))`);
  process.exit(1);
}
const socket = flags.get("--api-sock") || "/run/firecracker.socket";
const log = new CallLog(flags.get("--fake-log"));

/** Fields each body may carry in v1.16.1 (`deny_unknown_fields`). */
const FIELDS: Record<string, string[]> = {
  "boot-source": ["kernel_image_path", "boot_args", "initrd_path"],
  "machine-config": ["vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages", "cpu_template"],
  drive: ["drive_id", "partuuid", "is_root_device", "cache_type", "is_read_only", "path_on_host", "rate_limiter", "io_engine", "socket"],
  actions: ["action_type"],
  vm: ["state"],
  "snapshot-create": ["mem_file_path", "snapshot_path", "snapshot_type"],
  "snapshot-load": ["enable_diff_snapshots", "track_dirty_pages", "mem_file_path", "mem_backend", "snapshot_path", "resume_vm", "network_overrides", "vsock_override", "clock_realtime"],
  "mem-backend": ["backend_type", "backend_path"],
};

type FcState = "Not started" | "Running" | "Paused";
let state: FcState = "Not started";
let fatal = false;
let guest: string | null = null;
let bootSource: Record<string, unknown> | null = null;
let machine = { vcpu_count: 1, mem_size_mib: 128 };
const drives = new Map<string, { path_on_host: string; is_read_only: boolean }>();
/** Anything but logger/metrics configured: a snapshot can no longer be loaded. */
let configured = false;

const ok: FakeAnswer = { status: 204 };
const fault = (message: string): FakeAnswer => ({ status: 400, body: { fault_message: message } });

function unknownField(body: Record<string, unknown>, kind: string): FakeAnswer | null {
  const allowed = FIELDS[kind]!;
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  return extra ? fault(`An error occurred when deserializing the json body of a request: unknown field \`${extra}\`, expected one of ${allowed.map((f) => `\`${f}\``).join(", ")}.`) : null;
}

function preBoot(body: Record<string, unknown>, kind: string, apply: () => FakeAnswer | void): FakeAnswer {
  if (state !== "Not started") return fault("The requested operation is not supported after starting the microVM.");
  const bad = unknownField(body, kind);
  if (bad) return bad;
  configured = true;
  return apply() ?? ok;
}

function openDrives(paths: string[]): string | null {
  const missing = paths.find((p) => !existsSync(p));
  return missing === undefined ? null : `Unable to create the block device: BackingFile(Os { code: 2, kind: NotFound, message: "No such file or directory" }, "${missing}")`;
}

function handle(method: string, path: string, body: any): FakeAnswer {
  if (fatal && path !== "/") return fault("The microVM is in an unrecoverable state after a failed snapshot load.");
  if (method === "GET" && path === "/") {
    return { status: 200, body: { app_name: "Firecracker", id: "anonymous-instance", state, vmm_version: version } };
  }
  if ((method === "PUT" || method === "PATCH") && body === null) return fault(`Empty ${method} request.`);
  if (body === undefined || (body !== null && (typeof body !== "object" || Array.isArray(body)))) {
    return fault("An error occurred when deserializing the json body of a request: invalid JSON.");
  }
  const drive = /^\/drives\/([^/]+)$/.exec(path);
  if (method === "PUT" && path === "/boot-source") {
    return preBoot(body, "boot-source", () => {
      if (typeof body.kernel_image_path !== "string") return fault("missing field `kernel_image_path`");
      if (!existsSync(body.kernel_image_path)) return fault(`The kernel file cannot be opened: No such file or directory (os error 2)`);
      bootSource = body;
    });
  }
  if (method === "PUT" && path === "/machine-config") {
    return preBoot(body, "machine-config", () => {
      const n = body.vcpu_count;
      if (!Number.isInteger(n) || n < 1 || n > 32 || (n > 1 && n % 2 !== 0)) return fault("The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.");
      machine = { vcpu_count: n, mem_size_mib: body.mem_size_mib };
    });
  }
  if (method === "PUT" && drive) {
    return preBoot(body, "drive", () => {
      if (body.drive_id !== drive[1]) return fault("The id from the path does not match the id from the body!");
      drives.set(body.drive_id, { path_on_host: body.path_on_host, is_read_only: body.is_read_only });
    });
  }
  if (method === "PUT" && path === "/actions") {
    const bad = unknownField(body, "actions");
    if (bad) return bad;
    if (body.action_type === "InstanceStart") {
      if (state !== "Not started") return fault("The requested operation is not supported after starting the microVM.");
      if (!bootSource) return fault("Cannot start microvm without kernel configuration.");
      const missing = openDrives([...drives.values()].map((d) => d.path_on_host));
      if (missing) return fault(missing);
      state = "Running";
      guest = crypto.randomUUID();
      console.log(`fake-fc booted guest=${guest}`);
      return { ...ok, guest };
    }
    if (body.action_type === "SendCtrlAltDel") {
      if (state !== "Running") return fault("The requested operation is not supported before starting the microVM.");
      return { ...ok, exitAfter: true };
    }
    return fault(`unknown variant \`${body.action_type}\`, expected one of \`FlushMetrics\`, \`InstanceStart\`, \`SendCtrlAltDel\``);
  }
  if (method === "PATCH" && path === "/vm") {
    const bad = unknownField(body, "vm");
    if (bad) return bad;
    if (state === "Not started") return fault("The requested operation is not supported before starting the microVM.");
    if (body.state === "Paused") state = "Paused";
    else if (body.state === "Resumed") state = "Running";
    else return fault(`unknown variant \`${body.state}\`, expected \`Paused\` or \`Resumed\``);
    return ok;
  }
  if (method === "PUT" && path === "/snapshot/create") {
    const bad = unknownField(body, "snapshot-create");
    if (bad) return bad;
    if (state !== "Paused") return fault("Cannot create snapshot while microVM is running or not started. Pause the microVM first.");
    if (typeof body.snapshot_path !== "string" || typeof body.mem_file_path !== "string") return fault("missing field `snapshot_path` or `mem_file_path`");
    const record = { format, guest, machine, drives: [...drives.entries()] };
    writeFileSync(body.snapshot_path, JSON.stringify(record));
    // Opened without truncate: an existing file of the right size is written in place (§2.5).
    writeGuestMemory(body.mem_file_path, machine.mem_size_mib * 1024 * 1024, guest!, existsSync(body.mem_file_path) ? "r+" : "w");
    return { ...ok, guest: guest! };
  }
  if (method === "PUT" && path === "/snapshot/load") {
    const bad = unknownField(body, "snapshot-load") ?? (body.mem_backend ? unknownField(body.mem_backend, "mem-backend") : null);
    if (bad) return bad;
    if (configured || state !== "Not started") return fault("Loading a microVM snapshot not allowed after configuring boot-specific resources.");
    if ((body.mem_file_path === undefined) === (body.mem_backend === undefined)) {
      return fault("Either `mem_backend` or `mem_file_path` must be present at a time, but not both.");
    }
    const memPath: string = body.mem_backend?.backend_path ?? body.mem_file_path;
    if (body.mem_backend && body.mem_backend.backend_type !== "File") return fault("This fake serves only the File memory backend.");
    try {
      if (flags.has("--fake-fail-snapshot-load")) throw new Error("snapshot state file is corrupt (--fake-fail-snapshot-load)");
      const record = JSON.parse(readFileSync(body.snapshot_path, "utf8"));
      if (String(record.format).split(".")[0] !== format.split(".")[0]) throw new Error(`Snapshot version mismatch: ${record.format} vs ${format}`);
      if (readGuestMemory(memPath) !== record.guest) throw new Error("memory file does not match the state file");
      const missing = openDrives(record.drives.map(([, d]: [string, { path_on_host: string }]) => d.path_on_host));
      if (missing) throw new Error(missing);
      guest = record.guest;
      machine = record.machine;
      for (const [id, d] of record.drives) drives.set(id, d);
    } catch (err) {
      fatal = true;
      return fault(`Load snapshot error: Failed to restore from snapshot: ${(err as Error).message}`);
    }
    state = body.resume_vm === true ? "Running" : "Paused";
    configured = true;
    console.log(`fake-fc restored guest=${guest}`);
    return { ...ok, guest: guest! };
  }
  return fault(`Invalid request method and/or path: ${method} ${path}.`);
}

serveFake(socket, log, (method, path, body) => handle(method, path, body));
