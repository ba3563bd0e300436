// When an attempt the guest did not answer may be sent again: the request's method is idempotent (RFC 9110
// §9.2.2: sending it twice has the effect of once), or the attempt was proved never delivered (the connection was
// refused, so no byte reached the guest). Anything else, a POST above all, may have run: it is never sent twice.
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** How an attempt failed: refused (nothing delivered), no answer within the header timeout, or otherwise. */
export type AttemptFailure = "refused" | "timeout" | "failed";

export function attemptFailure(err: unknown, timedOut: boolean): AttemptFailure {
  if (timedOut) return "timeout";
  return (err as { code?: unknown } | null)?.code === "ECONNREFUSED" ? "refused" : "failed";
}

export function maySendAgain(method: string, failure: AttemptFailure): boolean {
  return failure === "refused" || IDEMPOTENT.has(method.toUpperCase());
}
