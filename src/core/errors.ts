import { inStep as hypervisorInStep, type HypervisorErrorKind } from "../hv/hypervisor.ts";
import { PayloadError } from "../store/payload/record-file.ts";

// Domain errors. Each kind maps to exactly one HTTP status + code in src/plugin/errors.ts; nothing else
// decides statuses. The `code` override exists where the reference API uses a more specific wire code
// (e.g. `invalid_snapshot_compression` is a 400 like any invalid request).

export type DomainErrorKind =
  | "invalid_request" // 400
  | "not_found" // 404
  | "invalid_state" // 409: wrong state for the operation
  | "conflict" // 409: name/id taken, snapshot still referenced
  | "insufficient_resources" // 409
  | "forbidden" // 403: a host path outside what clients may reach
  | "insufficient_storage" // 507: the data dir's file system cannot hold the result
  | "not_supported" // 501
  | "bad_gateway" // 502: the ingress cannot reach its target
  | "unavailable" // 503: the ingress target is not serving yet (with Retry-After)
  | "internal"; // 500

export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Wire code when it differs from the kind's default (`invalid_snapshot_policy`, `name_conflict`…). */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidRequest = (message: string, code?: string) => new DomainError("invalid_request", message, code);
export const notFound = (message: string) => new DomainError("not_found", message);
export const invalidState = (message: string, code?: string) => new DomainError("invalid_state", message, code);
export const conflict = (message: string, code?: string) => new DomainError("conflict", message, code);
export const insufficientResources = (message: string) => new DomainError("insufficient_resources", message);
export const forbidden = (message: string) => new DomainError("forbidden", message);
/** A measured shortage (bytes needed vs free). Its explicit code tells it from inStep's bare "disk is full". */
export const insufficientStorage = (message: string, cause?: unknown) =>
  new DomainError("insufficient_storage", message, "insufficient_storage", { cause });
export const notSupported = (message: string) => new DomainError("not_supported", message);
/** The ingress could not get its target serving in time (or will not wake it): the client should retry. */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    code: string,
    readonly retryAfterSeconds: number,
  ) {
    super("unavailable", message, code);
  }
}
/** A snapshot this host cannot restore (core/snapshots/compatibility.ts): 409 with the typed reasons. */
export class IncompatibleSnapshotError extends DomainError {
  constructor(
    message: string,
    readonly reasons: { code: string; message: string }[],
  ) {
    super("invalid_state", message, "incompatible_snapshot");
  }
}
export const internal = (message: string, cause?: unknown) => new DomainError("internal", message, undefined, { cause });

const HYPERVISOR_ERROR_KINDS: Record<HypervisorErrorKind, DomainErrorKind> = {
  not_supported: "not_supported",
  incompatible: "invalid_state",
  failed: "internal",
  timeout: "internal",
  gone: "invalid_state",
};

/** Prefixes an error's message with the step that failed, keeping its kind (style: "a rethrown error names the step"). */
export function inStep(step: string, err: unknown): DomainError {
  if (err instanceof DomainError) {
    return new DomainError(err.kind, `${step}: ${err.message}`, err.code, { cause: err });
  }
  // A payload whose record is missing, damaged or too new cannot be acted on, as an incompatible one.
  if (err instanceof PayloadError) return new DomainError("invalid_state", `${step}: ${err.message}`, undefined, { cause: err });
  // hv's own step prefixing; what is not a VMM error (a file system one) comes back "failed", an internal error.
  const stepped = hypervisorInStep(step, err);
  // A full disk is the host's state, not a fault of ours: 507 wherever it surfaces. Operations that know the size
  // they write check it up front and say more (core/service/disk-space.ts).
  if (isNoSpace(err)) return new DomainError("insufficient_storage", `${stepped.message} (the data dir's disk is full)`, undefined, { cause: err });
  return new DomainError(HYPERVISOR_ERROR_KINDS[stepped.kind], stepped.message, undefined, { cause: err });
}

// QEMU 7.2's exec: migration writer is `cat > <file in the data dir>`: when that write fails QEMU only sees its
// pipe break, and the one write error that happens in practice there is a full disk.
// SQLite says SQLITE_FULL ("database or disk is full") when its file in the data dir cannot grow.
const NO_SPACE_MESSAGE =
  /ENOSPC|EDQUOT|EFBIG|No space left on device|Disk quota exceeded|File too large|Unable to write to command|database or disk is full/;
const NO_SPACE_CODES = new Set(["ENOSPC", "EDQUOT", "EFBIG", "SQLITE_FULL"]);

export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NO_SPACE_CODES.has(code)) return true;
    if (e instanceof Error && NO_SPACE_MESSAGE.test(e.message)) return true;
  }
  return false;
}
