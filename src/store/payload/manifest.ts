// The manifest of a snapshot payload, `manifest.json` beside snapshot.json: what a snapshot needs to be restored
// somewhere else (hypervisor and version, machine, memory, the host CPU and accel it was captured under, the image
// it boots) and a SHA-256 per file and per 4 MiB chunk of every payload file. Export puts it first in the archive,
// import and remotes verify every chunk against it, the compatibility check reads it. Its own format version is
// separate from the payload records' (record-file.ts): a reader refuses a newer manifest by number, before its
// fields are parsed, so "format too new" is a reason and not a parse error.
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { ImageRow } from "../schema.ts";
import { CHUNK_BYTES, hashFile, sha256Hex } from "./chunk-hash.ts";
import { GUEST_FILES, LOCAL_STATE_RECORD, MANIFEST_RECORD, SNAPSHOT_GUEST_DIR } from "./layout.ts";
import { readInstanceRecord } from "./instance-record.ts";
import { isInFlightCompression } from "./memory-forms.ts";
import { PAYLOAD_FORMAT_VERSION } from "./record-file.ts";
import { readSnapshotRecord } from "./snapshot-record.ts";
import { readSavedVm, type VmRecord } from "./vm-record.ts";

export const MANIFEST_FORMAT_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256");

/** A path inside the snapshot dir: relative, `/`-separated, no `.`/`..`/empty segments (an archive names it). */
export const PayloadPath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.includes("\0") && p.split("/").every((s) => s !== "" && s !== "." && s !== ".."), "a relative path inside the snapshot");

/** The host-local record (local-state.ts) is this host's alone: never hashed, so never exported, pushed or taken
 * from an archive or remote (a manifest listing it is refused), and pinning leaves the manifest as it was. */
const isLocalState = (path: string): boolean => path === LOCAL_STATE_RECORD;

export const ManifestFile = z
  .object({
    path: PayloadPath.refine((p) => !isLocalState(p), `${LOCAL_STATE_RECORD} is host-local and never part of a manifest`),
    size: z.number().int().nonnegative(),
    sha256: Sha256,
    /** SHA-256 per `chunk_bytes` of the file, in order. */
    chunks: z.array(Sha256),
  })
  .strict();

export const Manifest = z
  .object({
    format_version: z.number().int().positive(),
    /** The payload records' format version (record-file.ts) the files were written in. */
    payload_format_version: z.number().int().positive(),
    created_at: z.iso.datetime(),
    snapshot: z.object({ id: z.string(), kind: z.string() }),
    hypervisor: z.object({ type: z.string(), version: z.string().nullable() }),
    machine: z.object({
      /** The hypervisor's machine type (QEMU `pc-q35-7.2`), null where the VMM has none. */
      type: z.string().nullable(),
      /** SHA-256 of the virtual hardware (canonical JSON): equal hashes, same machine. */
      config_hash: Sha256,
    }),
    memory: z.object({
      bytes: z.number().int().nonnegative(),
      /** How the memory is stored, as the saved-VM record says (`none` for a Stopped snapshot). */
      kind: z.string(),
      /** The memory file inside the standby dir, null without one. */
      file: z.string().nullable(),
    }),
    /** The host the memory was captured on: its CPU state only loads where these features exist (under KVM). */
    host_cpu: z.object({ model: z.string(), flags: z.array(z.string()) }),
    /** `kvm` or `tcg` where the hypervisor records it; null for a Stopped snapshot (a cold boot runs anywhere). */
    accel: z.string().nullable(),
    image: z.object({ name: z.string(), content_hash: Sha256 }),
    chunk_bytes: z.number().int().positive(),
    files: z.array(ManifestFile),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.files.forEach((f, i) => {
      if (seen.has(f.path)) ctx.addIssue({ code: "custom", path: ["files", i, "path"], message: `duplicate path ${f.path}` });
      seen.add(f.path);
      if (f.chunks.length !== Math.ceil(f.size / m.chunk_bytes)) {
        ctx.addIssue({ code: "custom", path: ["files", i, "chunks"], message: `${f.path}: ${f.chunks.length} chunks for ${f.size} bytes` });
      }
    });
  });

export type Manifest = z.output<typeof Manifest>;
export type ManifestFile = z.output<typeof ManifestFile>;

/** A manifest as read: one this server understands, or a newer format it must not interpret. */
export type ParsedManifest = { kind: "current"; manifest: Manifest } | { kind: "newer"; formatVersion: number };

export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

/** Parses manifest JSON; a newer format is reported by its number, anything malformed is a ManifestError. */
export function parseManifest(json: unknown): ParsedManifest {
  const version = (json as { format_version?: unknown } | null)?.format_version;
  if (typeof version === "number" && Number.isInteger(version) && version > MANIFEST_FORMAT_VERSION) return { kind: "newer", formatVersion: version };
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(`manifest is not valid: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`);
  }
  return { kind: "current", manifest: parsed.data };
}

export function manifestPath(snapshotDir: string): string {
  return join(snapshotDir, MANIFEST_RECORD);
}

/** The manifest of `snapshotDir`, undefined when none has been written yet. */
export async function readManifest(snapshotDir: string): Promise<ParsedManifest | undefined> {
  const file = Bun.file(manifestPath(snapshotDir));
  if (!(await file.exists())) return undefined;
  let json: unknown;
  try {
    json = await file.json();
  } catch (err) {
    throw new ManifestError(`manifest ${manifestPath(snapshotDir)} is not JSON: ${(err as Error).message}`);
  }
  return parseManifest(json);
}

export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** What the builder cannot read from the payload: the host it runs on and the image's content hash. */
export interface ManifestFacts {
  hostCpu: { model: string; flags: string[] };
  imageContentHash: string;
  createdAt: Date;
}

export interface ManifestBuildOptions {
  signal?: AbortSignal;
  /** Awaited before each chunk (see ChunkReadOptions). */
  pace?: () => Promise<void>;
  /** Bytes hashed so far out of all payload bytes. */
  onProgress?: (done: number, total: number) => void;
}

/** What the saved-VM record's memory file is when the record names no kind (every payload before RAM files). */
const DEFAULT_MEMORY_KIND = "migration-stream";

/** What a snapshot needs of the host that restores it: the manifest without its file hashes. */
export type Requirements = Omit<Manifest, "files" | "chunk_bytes">;
/** Requirements as read: understood, or of a newer format (a manifest read whole fits too). */
export type ParsedRequirements = { kind: "current"; manifest: Requirements } | { kind: "newer"; formatVersion: number };

/** The requirements of `snapshotDir`, from its records and `facts`: no file is hashed. */
export async function readRequirements(snapshotDir: string, facts: ManifestFacts): Promise<Requirements> {
  const snapshot = await readSnapshotRecord(snapshotDir);
  const guest = join(snapshotDir, SNAPSHOT_GUEST_DIR);
  const instance = await readInstanceRecord(guest);
  const saved = snapshot.kind === "Standby" ? await readSavedVm(join(guest, GUEST_FILES.standbyDir)) : undefined;
  const config = (saved?.config ?? instance.config) as HardwareConfig;
  const detail = (saved?.detail ?? {}) as { machine?: unknown; accel?: unknown };
  const machineType = typeof detail.machine === "string" ? detail.machine : null;
  return {
    format_version: MANIFEST_FORMAT_VERSION,
    payload_format_version: PAYLOAD_FORMAT_VERSION,
    created_at: facts.createdAt.toISOString(),
    snapshot: { id: snapshot.id, kind: snapshot.kind },
    hypervisor: { type: saved?.hypervisor ?? snapshot.sourceHypervisor, version: saved?.version ?? snapshot.sourceHypervisorVersion },
    machine: { type: machineType, config_hash: hardwareHash(config, machineType) },
    memory: {
      bytes: typeof config.memoryBytes === "number" ? config.memoryBytes : (instance.instance?.memoryBytes ?? 0),
      kind: saved ? memoryKindOf(saved) : "none",
      file: saved?.memoryFile ?? null,
    },
    host_cpu: saved ? facts.hostCpu : { model: "", flags: [] },
    accel: typeof detail.accel === "string" ? detail.accel : null,
    image: { name: instance.instance?.image ?? snapshotImageName(instance.config), content_hash: facts.imageContentHash },
  };
}

/** Reads the records of `snapshotDir` and hashes every payload file (one pass, a chunk at a time). */
export async function buildManifest(snapshotDir: string, facts: ManifestFacts, options: ManifestBuildOptions = {}): Promise<Manifest> {
  const requirements = await readRequirements(snapshotDir, facts);
  return { ...requirements, chunk_bytes: CHUNK_BYTES, files: await hashPayloadFiles(snapshotDir, await payloadFiles(snapshotDir), options) };
}

/** Hashes `files` of `snapshotDir` in order, reporting progress over their total size. */
export async function hashPayloadFiles(snapshotDir: string, files: { path: string; size: number }[], options: ManifestBuildOptions = {}): Promise<ManifestFile[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let before = 0;
  const hashed: ManifestFile[] = [];
  for (const file of files) {
    const hash = await hashFile(join(snapshotDir, file.path), {
      signal: options.signal,
      pace: options.pace,
      onProgress: (done) => options.onProgress?.(before + done, total),
    });
    hashed.push({ path: file.path, ...hash });
    before += hash.size;
  }
  options.onProgress?.(total, total);
  return hashed;
}

/**
 * The image's content: its kernel, initrd and rootfs hashes and its command line, by role (file names may differ
 * between hosts that registered the same image).
 */
export async function imageContentHash(image: Pick<ImageRow, "kernel" | "initrd" | "rootfs" | "cmdline">, signal?: AbortSignal): Promise<string> {
  const sha = async (path: string | null) => (path === null ? null : (await hashFile(path, { signal })).sha256);
  return imageContentHashOf({ kernel: await sha(image.kernel), initrd: await sha(image.initrd), rootfs: await sha(image.rootfs) }, image.cmdline);
}

/** The same hash from file hashes already known (null: the image has no such file). */
export function imageContentHashOf(files: Record<"kernel" | "initrd" | "rootfs", string | null>, cmdline: string): string {
  const part = (role: keyof typeof files) => `${role}:${files[role] ?? "none"}\n`;
  return sha256Hex([part("kernel"), part("initrd"), part("rootfs"), `cmdline:${sha256Hex(cmdline)}\n`].join(""));
}

/** The fields of a VmConfig that make the machine (paths and per-fork identity are not hardware). */
interface HardwareConfig {
  vcpus?: unknown;
  memoryBytes?: unknown;
  cmdline?: unknown;
  disks?: unknown;
  guestAgent?: unknown;
  extra?: unknown;
  kernel?: unknown;
}

function hardwareHash(config: HardwareConfig, machineType: string | null): string {
  const { vcpus, memoryBytes, cmdline, disks, guestAgent, extra } = config;
  return sha256Hex(canonicalJson({ vcpus, memoryBytes, cmdline, disks, guestAgent, extra: extra ?? null, machineType }));
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function memoryKindOf(saved: VmRecord): string {
  if ("memoryKind" in saved && typeof saved.memoryKind === "string") return saved.memoryKind;
  const detail = saved.detail as { memoryKind?: unknown } | undefined;
  return typeof detail?.memoryKind === "string" ? detail.memoryKind : DEFAULT_MEMORY_KIND;
}

/** Version-1 instance records carry no image name; the kernel's image dir names it. */
function snapshotImageName(config: Record<string, unknown>): string {
  const kernel = typeof config.kernel === "string" ? config.kernel.split("/") : [];
  return kernel.at(-2) ?? "";
}

/** Regular files of a snapshot dir, sorted by path, the manifest itself, the host-local record and in-flight temp
 * files excluded. */
export async function payloadFiles(snapshotDir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(snapshotDir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (path === MANIFEST_RECORD || isLocalState(path) || isInFlightCompression(name) || name.endsWith(".tmp")) continue;
      const stat = await lstat(join(snapshotDir, path));
      if (stat.isDirectory()) await walk(path);
      else if (stat.isFile()) out.push({ path, size: stat.size });
    }
  };
  await walk("");
  return out;
}
