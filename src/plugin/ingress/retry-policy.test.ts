import { describe, expect, test } from "bun:test";
import { attemptFailure, maySendAgain } from "./retry-policy.ts";

describe("ingress retry policy", () => {
  test("idempotent methods are sent again after any failure", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get"]) {
      for (const failure of ["refused", "timeout", "failed"] as const) expect(maySendAgain(method, failure)).toBe(true);
    }
  });

  test("POST and PATCH are sent again only when the connection was refused", () => {
    for (const method of ["POST", "PATCH", "post"]) {
      expect(maySendAgain(method, "refused")).toBe(true);
      expect(maySendAgain(method, "timeout")).toBe(false);
      expect(maySendAgain(method, "failed")).toBe(false);
    }
  });

  test("a refused connection, a reset and the header timeout are told apart", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedPort = probe.port;
    probe.stop(true);
    const refused = await fetch(`http://127.0.0.1:${closedPort}/`, { method: "POST", body: "x" }).catch((e) => e);
    expect(attemptFailure(refused, false)).toBe("refused");
    // A server that resets the connection once the request arrived: the request was delivered.
    const resetting = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s) => void s.terminate() } });
    try {
      const reset = await fetch(`http://127.0.0.1:${resetting.port}/`, { method: "POST", body: "x" }).catch((e) => e);
      expect(attemptFailure(reset, false)).toBe("failed");
    } finally {
      resetting.stop(true);
    }
    expect(attemptFailure(new DOMException("timed out", "TimeoutError"), true)).toBe("timeout");
  });
});
