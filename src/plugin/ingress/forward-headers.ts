// The headers a proxied request and response carry: hop-by-hop ones (RFC 9110 §7.6.1, plus those the Connection
// header names) are dropped, the rule's auth header is stripped, and X-Forwarded-For/Proto/Host are set.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"];

export function withoutHopByHop(source: Headers): Headers {
  const headers = new Headers(source);
  const named = (source.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) headers.delete(name);
  return headers;
}

export interface ForwardedFrom {
  clientIp: string | undefined;
  secure: boolean;
  host: string;
}

export function upstreamRequestHeaders(source: Headers, from: ForwardedFrom, authHeader: string | undefined): Headers {
  const headers = withoutHopByHop(source);
  if (authHeader) headers.delete(authHeader);
  const prior = source.get("x-forwarded-for");
  if (from.clientIp) headers.set("x-forwarded-for", prior ? `${prior}, ${from.clientIp}` : from.clientIp);
  headers.set("x-forwarded-proto", from.secure ? "https" : "http");
  headers.set("x-forwarded-host", from.host);
  return headers;
}
