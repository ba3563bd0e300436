// A fake `cloud-hypervisor` process: same flags (`--api-socket <path>` or `path=<path>`, `--version`), the
// documented VM state machine and quirks (hypervisor-apis.md §1, §6, §7.2): vm.create → Created → vm.boot →
// Running ⇄ Paused; vm.snapshot only when Paused, into an existing dir, files created O_EXCL; vm.restore only on a
// process with no VM, rebuilding devices from config.json (disks must exist); unknown JSON fields ignored, so
// `resume` before v52 is dropped; errors are 500 with a JSON-array body (v47+), except "no VM" → 404 on v53+.
//
// Fake-only flags: --fake-log <file> (call log, JSON lines), --fake-version <X.Y> (default 53.0),
// --fake-exit-on-start <code>.
import { existsSync, readFileSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { CallLog, parseFlags, readGuestMemory, serveFake, writeGuestMemory, type FakeAnswer } from "./fake-vmm.ts";

const flags = parseFlags(process.argv.slice(2));
const version = flags.get("--fake-version") || "53.0";
const major = Number(version.split(".")[0]);

if (flags.has("--version")) {
  console.log(`cloud-hypervisor v${version}`);
  process.exit(0);
}
if (flags.has("--fake-exit-on-start")) {
  console.error("fake: exiting at start as asked (--fake-exit-on-start)");
  process.exit(Number(flags.get("--fake-exit-on-start")) || 1);
}
const socketArg = flags.get("--api-socket");
if (!socketArg) {
  console.error("Error: --api-socket is required by this fake");
  process.exit(1);
}
const socket = socketArg.startsWith("path=") ? socketArg.slice(5) : socketArg;
const log = new CallLog(flags.get("--fake-log"));

type ChState = "Created" | "Running" | "Paused" | "Shutdown";
interface Vm {
  config: Record<string, any>;
  state: ChState;
  guest: string;
}
let vm: Vm | null = null;

const ok: FakeAnswer = { status: 204 };
/** The error chain as CH reports it: JSON array from v47, plain text before. */
function error(messages: string[], status = 500): FakeAnswer {
  return major >= 47 ? { status, body: ["Error from API", ...messages] } : { status, text: messages[0]! };
}
const notCreated = () => error(["The VM is not created"], major >= 53 ? 404 : 500);

function serialWrite(line: string): void {
  const serial = vm?.config.serial;
  if (serial?.mode === "File" && typeof serial.file === "string") appendFileSync(serial.file, `${line}\n`);
}

function openDisks(config: Record<string, any>): string | null {
  for (const disk of (config.disks ?? []) as { path?: string }[]) {
    if (typeof disk.path !== "string" || !existsSync(disk.path)) return `Failed to open disk image ${disk.path}: No such file or directory (os error 2)`;
  }
  return null;
}

function dirFromUrl(url: unknown): string | null {
  if (typeof url !== "string" || !url.startsWith("file://")) return null;
  return url.slice("file://".length);
}

const routes: Record<string, Record<string, (body: any) => FakeAnswer>> = {
  "/vmm.ping": { GET: () => ({ status: 200, body: { build_version: `v${version}-fake`, version: `v${version}`, pid: process.pid, features: ["kvm"] } }) },
  "/vm.info": {
    GET: () => (vm ? { status: 200, body: { config: vm.config, state: vm.state, memory_actual_size: vm.config.memory?.size ?? 0 } } : notCreated()),
  },
  "/vm.create": {
    PUT: (body) => {
      if (body === undefined || body === null || typeof body.payload !== "object") return { status: 400, body: ["Error from API", "missing field `payload`"] };
      if (vm) return error(["The VM is already created"]);
      vm = { config: body, state: "Created", guest: crypto.randomUUID() };
      return ok;
    },
  },
  "/vm.boot": {
    PUT: () => {
      if (!vm) return notCreated();
      if (vm.state !== "Created") return error(["The VM could not boot", "VM is already booted"]);
      const disks = openDisks(vm.config);
      if (disks) return error(["The VM could not boot", disks]);
      vm.state = "Running";
      serialWrite(`fake-ch booted guest=${vm.guest}`);
      return { ...ok, guest: vm.guest };
    },
  },
  "/vm.pause": {
    PUT: () => {
      if (!vm) return notCreated();
      if (vm.state !== "Running") return error(["The VM could not be paused", `Invalid transition from ${vm.state} to Paused`]);
      vm.state = "Paused";
      return ok;
    },
  },
  "/vm.resume": {
    PUT: () => {
      if (!vm) return notCreated();
      if (vm.state !== "Paused") return error(["The VM could not be resumed", `Invalid transition from ${vm.state} to Running`]);
      vm.state = "Running";
      return ok;
    },
  },
  "/vm.power-button": {
    PUT: () => {
      if (!vm) return notCreated();
      if (vm.state !== "Running") return error(["The VM could not be powered off", "VM is not running"]);
      // The fake guest handles ACPI and powers off at once.
      vm.state = "Shutdown";
      return ok;
    },
  },
  "/vm.shutdown": {
    PUT: () => {
      if (!vm) return notCreated();
      vm.state = "Shutdown";
      return ok;
    },
  },
  "/vm.snapshot": {
    PUT: (body) => {
      if (!vm) return notCreated();
      if (vm.state !== "Paused") return error(["Error snapshotting the VM", "Trying to snapshot while VM is running"]);
      const dir = dirFromUrl(body?.destination_url);
      if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) return error(["Error snapshotting the VM", "Destination is not a directory"]);
      try {
        writeFileSync(join(dir, "config.json"), JSON.stringify(vm.config), { flag: "wx" });
        writeFileSync(join(dir, "state.json"), JSON.stringify({ fake_guest: vm.guest, snapshot_version: version }), { flag: "wx" });
        writeGuestMemory(join(dir, "memory-ranges"), vm.config.memory?.size ?? 0, vm.guest, "wx");
      } catch (err) {
        return error(["Error snapshotting the VM", `${(err as Error).message.includes("EEXIST") ? "File exists (os error 17)" : (err as Error).message}`]);
      }
      return { ...ok, guest: vm.guest };
    },
  },
  "/vm.restore": {
    PUT: (body) => {
      if (vm) return error(["Error restoring VM", "The VM is already created"]);
      const dir = dirFromUrl(body?.source_url);
      if (!dir) return { status: 400, body: ["Error from API", "invalid source_url"] };
      let config: Record<string, any>;
      let state: { fake_guest: string; snapshot_version: string };
      let memoryGuest: string | null;
      try {
        config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
        state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
        memoryGuest = readGuestMemory(join(dir, "memory-ranges"));
      } catch (err) {
        return error(["Error restoring VM", (err as Error).message]);
      }
      if (state.snapshot_version !== version) return error(["Error restoring VM", `snapshot of v${state.snapshot_version} cannot be restored by v${version}`]);
      if (memoryGuest !== state.fake_guest) return error(["Error restoring VM", "memory-ranges does not match state.json"]);
      const disks = openDisks(config);
      if (disks) return error(["Error restoring VM", disks]);
      // Fields unknown to this version are dropped silently, as serde does without deny_unknown_fields.
      const resume = major >= 52 && body.resume === true;
      vm = { config, state: resume ? "Running" : "Paused", guest: state.fake_guest };
      serialWrite(`fake-ch restored guest=${vm.guest}`);
      return { ...ok, guest: vm.guest };
    },
  },
  "/vmm.shutdown": { PUT: () => ({ ...ok, exitAfter: true }) },
};

serveFake(socket, log, (method, path, body) => {
  const prefix = "/api/v1";
  const route = path.startsWith(prefix) ? routes[path.slice(prefix.length)] : undefined;
  if (!route) return { status: 404, text: "" };
  const handle = route[method];
  if (!handle) return { status: 400, text: "" };
  if (body === undefined) return { status: 400, body: ["Error from API", "invalid JSON body"] };
  return handle(body);
});
