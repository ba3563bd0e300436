// HTTP over a Unix socket, the wire of the Cloud Hypervisor and Firecracker APIs (Bun's `fetch(url, { unix })`,
// keep-alive, ~0.05 ms a request). The only place where their native error bodies become HypervisorErrors:
// Cloud Hypervisor answers a JSON array of the error chain (v47+) or plain text, Firecracker `{"fault_message"}`.
import { HypervisorError, type HypervisorErrorKind } from "./hypervisor.ts";

/** Limit for one ordinary API call (create, pause, info…). */
export const API_REQUEST_TIMEOUT_MS = 30_000;
/** Limit for a call that writes or reads all of guest memory (snapshot, restore): minutes for many GiB. */
export const MEMORY_TRANSFER_TIMEOUT_MS = 10 * 60_000;

export type HttpMethod = "GET" | "PUT" | "PATCH";

/** A non-2xx answer: `status` and `nativeMessage` are what the VMM said, for callers that branch on them. */
export class VmmHttpError extends HypervisorError {
  constructor(
    readonly status: number,
    readonly nativeMessage: string,
    request: string,
  ) {
    super("failed", `${request}: HTTP ${status}: ${nativeMessage}`);
  }
}

/** Connection errors that mean "nobody serves this socket any more". */
const GONE_CODES = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET", "EPIPE"]);

export class UnixHttpClient {
  /** `baseUrl` carries the API prefix: `http://localhost/api/v1` (CH) or `http://localhost` (FC). */
  constructor(
    readonly socket: string,
    private readonly baseUrl: string,
  ) {}

  /** Sends `body` as JSON (no body at all when undefined) and returns the parsed JSON answer, if any. */
  async request(method: HttpMethod, path: string, body?: unknown, timeoutMs = API_REQUEST_TIMEOUT_MS): Promise<unknown> {
    const what = `${method} ${path}`;
    let text: string;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        unix: this.socket,
        signal: AbortSignal.timeout(timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      text = await res.text();
    } catch (err) {
      throw transportError(what, this.socket, timeoutMs, err);
    }
    if (!res.ok) throw new VmmHttpError(res.status, nativeErrorMessage(text), what);
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new HypervisorError("failed", `${what}: answer is not JSON: ${text.slice(0, 200)}`, { cause: err });
    }
  }
}

/** The VMM's own words from an error body: CH `["Error from API","The VM could not be paused",…]` → joined
 * chain; FC `{"fault_message":"…"}` → the message; anything else (CH ≤ v46 plain text) → trimmed text. */
export function nativeErrorMessage(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "(empty body)";
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (Array.isArray(parsed) && parsed.every((part) => typeof part === "string")) return parsed.join(": ");
    if (parsed && typeof parsed === "object" && typeof (parsed as { fault_message?: unknown }).fault_message === "string") {
      return (parsed as { fault_message: string }).fault_message;
    }
  } catch {
    // Not JSON: plain text is a native body too.
  }
  return trimmed;
}

function transportError(what: string, socket: string, timeoutMs: number, err: unknown): HypervisorError {
  const name = err instanceof Error ? err.name : "";
  const code = (err as { code?: unknown } | null)?.code;
  let kind: HypervisorErrorKind = "failed";
  let reason = err instanceof Error ? err.message : String(err);
  if (name === "TimeoutError") {
    kind = "timeout";
    reason = `no answer within ${timeoutMs} ms`;
  } else if (typeof code === "string" && GONE_CODES.has(code)) {
    kind = "gone";
    reason = `${code} on ${socket}`;
  }
  return new HypervisorError(kind, `${what}: ${reason}`, { cause: err });
}
