// The one interface every VMM driver implements. Core talks to hypervisors only through this file's types;
// drivers live in sibling folders (qemu/, cloud-hypervisor/, firecracker/) and are registered in registry.ts.

export const HYPERVISOR_TYPES = ["cloud-hypervisor", "firecracker", "qemu", "qemu-microvm", "vz"] as const;
export type HypervisorType = (typeof HYPERVISOR_TYPES)[number];

/** What a driver can do; core refuses (501) an operation that needs a capability the driver lacks, before any side
 * effect. */
export interface Capabilities {
  /** Can write a memory + device-state snapshot of a paused VM. */
  snapshot: boolean;
  /** Snapshot + pause: the VM can be put into Standby and restored. */
  standby: boolean;
  /** A snapshot can be restored under a new identity (new dir, new sockets). */
  fork: boolean;
  /** Can stop the guest's vCPUs and resume them (standby pauses before it writes the snapshot). */
  pause: boolean;
  /** Network backends the driver can attach (NetworkAttachment modes). */
  networkModes: readonly NetworkAttachment["mode"][];
}

/** A disk attached to the VM. `path` is relative to the guest dir unless absolute (shared, read-only bases). */
export interface DiskConfig {
  path: string;
  format: "raw" | "qcow2";
  readonly: boolean;
}

/**
 * Everything needed to start a VM, independent of where its guest dir lives. It is saved with every standby
 * payload so a restore (or a fork in another dir) rebuilds exactly the same virtual hardware.
 */
export interface VmConfig {
  vcpus: number;
  memoryBytes: number;
  /** Absolute paths into a registered image dir. */
  kernel: string;
  initrd?: string;
  cmdline: string;
  disks: DiskConfig[];
  /** Whether a guest-agent channel is wired (agent socket under the guest dir). */
  guestAgent: boolean;
  /**
   * How that channel is wired. Absent: as the first release did (QEMU: a second ISA UART, an agent of an older
   * protocol); kept so its standby payloads still load, since a migration stream only loads into the same devices.
   */
  agentChannel?: "virtio-serial";
  /** The one network device; absent = none (instances created before networking, or with it disabled). */
  network?: NetworkAttachment;
  /** VM generation id (a GUID) for drivers with a vmgenid device; a fork gets a fresh one, so guests reseed. */
  generationId?: string;
  /** Driver-specific knobs (e.g. QEMU accel/machine); drivers validate their own. */
  extra?: Record<string, unknown>;
}

/** A host port forwarded to a guest TCP port (user mode: QEMU's slirp `hostfwd`, on 127.0.0.1 only). */
export interface PortForward {
  guestPort: number;
  hostPort: number;
}

/**
 * The guest's network device and what backs it; core decides it (allocations), drivers translate it. `user`:
 * the VMM's own user-mode NAT, no privileges, guest ports reached through loopback forwards. `bridge`: a TAP
 * that core has created and attached to its bridge before the VMM starts.
 */
export type NetworkAttachment = { mode: "user"; mac: string; forwards: PortForward[] } | { mode: "bridge"; mac: string; tap: string };

/** Files a driver keeps under a guest dir; every path is relative to that dir. */
export interface GuestLayout {
  /** Control socket (QMP, CH/FC API); its presence is what "a VMM exists" means. */
  controlSocket: string;
  /** Guest-agent channel (a Unix socket), when the driver provides one. */
  agentSocket?: string;
  serialLog: string;
  /** A running guest's RAM, when the VMM keeps it in a file: runtime, never copied (a standby links it into its payload). */
  ramFile?: string;
  /** What a restored VMM is given as its kernel (see qemu/restore-kernel.ts): runtime, never copied. */
  restoreKernel?: string;
}

/**
 * What a snapshot's files were written by. `snapshot()` returns it and core has the store record it beside the
 * files (hv never reads or writes payload records); restore, fork and adoption get it back from core.
 */
export interface SavedVm {
  hypervisor: HypervisorType;
  /** VMM version that wrote the snapshot (restores across incompatible versions are refused). */
  version: string;
  config: VmConfig;
  /** Driver-specific detail (QEMU: machine type and argv). */
  detail?: Record<string, unknown>;
  /** Where the guest's RAM is in the payload; absent: inside the VMM's own snapshot stream (see MemoryKind). */
  memoryKind?: MemoryKind;
}

/**
 * `migration-stream`: the memory file is the VMM's snapshot, RAM and device state in one (every payload written
 * before file-backed memory). `ram-file`: the memory file is the guest's RAM itself, byte for byte (sparse), and the
 * device state is a small file beside it (QEMU `memory-backend-file` + `x-ignore-shared`).
 */
export type MemoryKind = "migration-stream" | "ram-file";

/** A SavedVm as read from a payload record, before the driver has checked it is one it can load. */
export interface StoredVm {
  hypervisor: string;
  version: string;
  config: unknown;
  detail?: unknown;
  memoryKind?: string;
}

/** The VMM side of "will this snapshot restore here?". */
export interface RestoreHost {
  version: string;
  /** Machine types the VMM emulates; null where it has no such notion. */
  machines: string[] | null;
  /** Accelerators it can run guests under (`kvm`, `tcg`). */
  accels: string[];
}

export type VmState = "created" | "running" | "paused" | "shutdown";

/**
 * Guest RAM held in a file (qemu-notes.md §2, §5): `share` maps it MAP_SHARED, so the file is the guest's memory
 * and a standby only writes device state; otherwise MAP_PRIVATE, copy-on-write over a file the VMM never writes (a
 * snapshot's, shared by its forks).
 */
export type RamFile = { path: string; share: boolean };

export interface RunningVm {
  readonly pid: number;
  /** Resolves when the VMM process is gone, with its exit code (null when killed by a signal or unknown). */
  readonly exited: Promise<number | null>;
  /** What this VMM runs (core keeps it as the guest dir's launch record, for adoption). */
  readonly launched: SavedVm;
  /** Where the guest's RAM is mapped from; absent: anonymous memory (loaded from a stream, or booted so). */
  readonly ramFile?: RamFile;
  state(): Promise<VmState>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** The VM generation id the guest sees (drivers with a vmgenid device); null when the VM has none. */
  generationId?(): Promise<string | null>;
  /**
   * Writes memory and device state into `dir` (pre-created, empty), durably; VM must be paused. Returns what to
   * record beside them (written last: the record's presence says the files are complete).
   */
  snapshot(dir: string, opts?: SnapshotOptions): Promise<SavedVm>;
  /** Asks the guest to power off, waits up to `timeoutMs`, then kills the VMM. Never leaves a process behind. */
  shutdown(timeoutMs: number): Promise<void>;
  /** Ends the VMM process at once. */
  kill(): Promise<void>;
}

export interface SnapshotOptions {
  /** The VM is resumed afterwards (a capture, not a standby): nothing it goes on writing may be in the payload. */
  resumes?: boolean;
}

export interface StartRequest {
  /** Guest dir: sockets, logs and per-instance disks live here. */
  dir: string;
  config: VmConfig;
}

export interface Hypervisor {
  readonly type: HypervisorType;
  readonly capabilities: Capabilities;
  /** Name of the raw memory file inside a snapshot dir (`memory`, `memory-ranges`): fan-out hard-links it and
   * compression compresses it. */
  readonly memoryFile: string;
  layout(): GuestLayout;
  /** Version of the VMM binary this driver runs. */
  version(): Promise<string>;
  /** Cold boot. */
  start(req: StartRequest): Promise<RunningVm>;
  /**
   * Starts a fresh VMM from the snapshot in `snapshotDir` (inside `req.dir`) and resumes it. The memory file is
   * only ever read: it may be hard-linked into other guests. The hardware is the snapshot's; its network backend,
   * MAC and generation id are `req.config`'s (a fork's new identity; see vm-identity.ts).
   */
  restore(req: StartRequest & { snapshotDir: string; saved: StoredVm }): Promise<RunningVm>;
  /** Checks a snapshot's record; throws HypervisorError("incompatible") if this VMM cannot restore it. */
  checkRestorable(saved: StoredVm): Promise<SavedVm>;
  /** What this host's VMM can load, for the compatibility check of a snapshot made elsewhere (absent: version only). */
  restoreHost?(): Promise<RestoreHost>;
  /**
   * Makes a copied snapshot dir usable from a new guest dir (paths inside the VMM's own saved files) and returns
   * the record to keep for the copy (its paths moved too).
   */
  prepareFork(snapshotDir: string, saved: StoredVm, fromDir: string, toDir: string): Promise<SavedVm>;
  /** Re-attaches to a VMM left running by an earlier server process, which runs `launched`; null when it is gone. */
  attach(dir: string, pid: number, launched: StoredVm): Promise<RunningVm | null>;
}

export type HypervisorErrorKind =
  | "not_supported" // the driver or VMM cannot do this
  | "incompatible" // snapshot written by a VMM this one cannot restore
  | "failed" // the VMM reported an error
  | "timeout" // the VMM did not answer in time
  | "gone"; // the VMM process is not there

/** The one error type drivers throw; core maps its kind to a domain error. */
export class HypervisorError extends Error {
  override readonly name = "HypervisorError";
  constructor(
    readonly kind: HypervisorErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Prefixes the step that failed, keeping the kind; errors that are not the VMM's (file system) become "failed". */
export function inStep(step: string, err: unknown): HypervisorError {
  const kind = err instanceof HypervisorError ? err.kind : "failed";
  const message = err instanceof Error ? err.message : String(err);
  return new HypervisorError(kind, `${step}: ${message}`, { cause: err });
}

/** The drivers a host offers, by type; a type missing here is "not supported on this host". */
export type Hypervisors = Partial<Record<HypervisorType, Hypervisor>>;
