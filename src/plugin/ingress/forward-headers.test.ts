import { describe, expect, test } from "bun:test";
import { upstreamRequestHeaders, withoutHopByHop } from "./forward-headers.ts";

describe("forwarded headers", () => {
  test("hop-by-hop headers and those Connection names are dropped; end-to-end ones stay", () => {
    const h = withoutHopByHop(
      new Headers({ connection: "keep-alive, x-secret-hop", "keep-alive": "timeout=5", "x-secret-hop": "1", te: "trailers", "content-type": "text/plain" }),
    );
    expect([...h.keys()].sort()).toEqual(["content-type"]);
  });

  test("the auth header is stripped and X-Forwarded-* appended", () => {
    const h = upstreamRequestHeaders(
      new Headers({ "x-ingress-key": "secret", "x-forwarded-for": "10.0.0.9", host: "a.example.com" }),
      { clientIp: "127.0.0.1", secure: false, host: "a.example.com" },
      "x-ingress-key",
    );
    expect(h.get("x-ingress-key")).toBeNull();
    expect(h.get("x-forwarded-for")).toBe("10.0.0.9, 127.0.0.1");
    expect(h.get("x-forwarded-proto")).toBe("http");
    expect(h.get("x-forwarded-host")).toBe("a.example.com");
  });
});
