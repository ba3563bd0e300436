// The API of a snapvisor server running as a child process, called over its Unix socket (JSON in and out),
// bounded in time.
import type { ApiResult } from "./harness.ts";

const CALL_TIMEOUT_MS = 180_000;

export async function callUnixApi(socket: string, method: string, path: string, body?: unknown): Promise<ApiResult> {
  const res = await fetch(`http://localhost${path}`, {
    unix: socket,
    method,
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
