// "Will this snapshot restore here?" (GET /snapshots/{id}/compatibility), answered from its manifest's
// requirements before any VMM starts; restore, fork and import run the same check and refuse with its reasons.
// Each reason has a typed code a client can act on (install a newer QEMU, register the image, pick a KVM host).
import { HYPERVISOR_TYPES, type RestoreHost } from "../../hv/hypervisor.ts";
import { MANIFEST_FORMAT_VERSION, type ParsedRequirements, type Requirements } from "../../store/payload/manifest.ts";
import { PAYLOAD_FORMAT_VERSION } from "../../store/payload/record-file.ts";
import type { CoreContext } from "../service/context.ts";
import { IncompatibleSnapshotError } from "../errors.ts";
import { generationWithContent } from "../images/generations.ts";

export const INCOMPATIBILITY_CODES = [
  "hypervisor_missing",
  "hypervisor_too_old",
  "machine_type_unknown",
  "cpu_feature_missing",
  "accel_differs",
  "image_missing",
  "format_too_new",
] as const;
export type IncompatibilityCode = (typeof INCOMPATIBILITY_CODES)[number];

export interface IncompatibilityReason {
  code: IncompatibilityCode;
  message: string;
}

export interface Compatibility {
  compatible: boolean;
  reasons: IncompatibilityReason[];
}

/** The reasons a host cannot restore a snapshot with `manifest`; none means it can. */
export async function checkCompatibility(ctx: CoreContext, manifest: ParsedRequirements): Promise<Compatibility> {
  if (manifest.kind === "newer") {
    return verdict([{ code: "format_too_new", message: `manifest format ${manifest.formatVersion} is newer than this server reads (${MANIFEST_FORMAT_VERSION})` }]);
  }
  const req = manifest.manifest;
  const reasons: IncompatibilityReason[] = [];
  if (req.payload_format_version > PAYLOAD_FORMAT_VERSION) {
    reasons.push({ code: "format_too_new", message: `payload format ${req.payload_format_version} is newer than this server reads (${PAYLOAD_FORMAT_VERSION})` });
  }
  reasons.push(...(await hypervisorReasons(ctx, req)), ...(await imageReasons(ctx, req)));
  return verdict(reasons);
}

/** Restore, fork and import: refuses (409 with the reasons) a snapshot this host cannot restore. */
export async function assertCompatible(ctx: CoreContext, manifest: ParsedRequirements, what: string): Promise<void> {
  const { compatible, reasons } = await checkCompatibility(ctx, manifest);
  if (!compatible) throw new IncompatibleSnapshotError(`${what}: ${reasons.map((r) => r.message).join("; ")}`, reasons);
}

/** The check for a stored snapshot: its manifest's requirements (read from its records while it is being hashed). */
export async function snapshotCompatibility(ctx: CoreContext, snapshotId: string): Promise<Compatibility> {
  return checkCompatibility(ctx, await ctx.manifests.requirements(snapshotId));
}

export async function assertSnapshotCompatible(ctx: CoreContext, snapshotId: string, what: string): Promise<void> {
  await assertCompatible(ctx, await ctx.manifests.requirements(snapshotId), what);
}

const verdict = (reasons: IncompatibilityReason[]): Compatibility => ({ compatible: reasons.length === 0, reasons });

async function hypervisorReasons(ctx: CoreContext, req: Requirements): Promise<IncompatibilityReason[]> {
  const type = req.hypervisor.type;
  const hv = (HYPERVISOR_TYPES as readonly string[]).includes(type) ? ctx.hypervisors[type as keyof typeof ctx.hypervisors] : undefined;
  if (!hv) return [{ code: "hypervisor_missing", message: `hypervisor ${type} is not available on this host` }];
  const host: RestoreHost = hv.restoreHost ? await hv.restoreHost() : { version: await hv.version(), machines: null, accels: [] };
  const reasons: IncompatibilityReason[] = [];
  const older = req.hypervisor.version !== null && compareVersions(host.version, req.hypervisor.version) < 0;
  const machine = req.machine.type;
  if (machine !== null && host.machines !== null && !host.machines.includes(machine)) {
    reasons.push(
      older
        ? { code: "hypervisor_too_old", message: `${type} ${host.version} is older than ${req.hypervisor.version}, which wrote the snapshot, and lacks its machine type ${machine}` }
        : { code: "machine_type_unknown", message: `${type} ${host.version} does not emulate machine type ${machine}` },
    );
  } else if (older && host.machines === null) {
    // Without versioned machine types, a VMM loads only what it or an older version wrote.
    reasons.push({ code: "hypervisor_too_old", message: `${type} ${host.version} is older than ${req.hypervisor.version}, which wrote the snapshot` });
  }
  if (req.accel !== null && host.accels.length > 0 && !host.accels.includes(req.accel)) {
    reasons.push({ code: "accel_differs", message: `snapshot was captured under ${req.accel}; this host runs ${type} under ${host.accels.join("/")} only` });
  }
  // Under KVM the guest's CPU is the host's: every feature it saw must be here. TCG emulates its own.
  if (req.memory.kind !== "none" && req.accel !== "tcg") {
    const here = new Set(ctx.manifests.hostCpu().flags);
    const missing = req.host_cpu.flags.filter((f) => !here.has(f));
    if (missing.length > 0) {
      reasons.push({ code: "cpu_feature_missing", message: `this host's CPU (${ctx.manifests.hostCpu().model}) lacks ${missing.join(", ")}, which the snapshot's CPU (${req.host_cpu.model}) had` });
    }
  }
  return reasons;
}

async function imageReasons(ctx: CoreContext, req: Requirements): Promise<IncompatibilityReason[]> {
  if (!ctx.images.get(req.image.name)) return [{ code: "image_missing", message: `image ${JSON.stringify(req.image.name)} is not registered on this host` }];
  // A rebuilt image keeps its older generations: the one the snapshot boots may be one of them.
  if (!(await generationWithContent(ctx, req.image.name, req.image.content_hash))) {
    return [{ code: "image_missing", message: `image ${JSON.stringify(req.image.name)} on this host has other contents than the one the snapshot boots` }];
  }
  return [];
}

/** Compares dotted numeric versions (`7.2.22` < `8.0`); non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
