// Ingress rule validation (reference-network §3) plus our `path_prefix` and `wake_stopped`. Pure: what needs the
// database (literal targets exist, hostname+port free) is checked by ingresses.ts.
import type { IngressRuleRecord } from "../../store/schema.ts";
import { invalidRequest } from "../errors.ts";
import { captureNames, parseHostname } from "./hostname-pattern.ts";

export const DEFAULT_MATCH_PORT = 80;
export const HEADER_AUTH_VALUE_MIN = 32;
export const HEADER_AUTH_VALUE_MAX = 256;
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
/** Printable ASCII without space, `*`, `{` and `}` (reference). */
const HEADER_AUTH_VALUE = /^[\x21-\x29\x2b-\x7a\x7c\x7e]+$/;
const PATH_PREFIX = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/;
const MAX_PATH_PREFIX = 1024;
/** Auth, cookies, host, framing, proxy and hop-by-hop headers: a rule cannot use them as its secret header. */
export const RESERVED_HEADERS = new Set([
  "authorization", "proxy-authorization", "proxy-authenticate", "www-authenticate", "cookie", "set-cookie", "host",
  "content-length", "transfer-encoding", "content-type", "connection", "keep-alive", "te", "trailer", "upgrade",
  "proxy-connection", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "expect",
]);

export interface IngressRuleInput {
  match: { hostname: string; port?: number; pathPrefix?: string };
  target: { instance: string; port: number };
  tls?: boolean;
  redirectHttp?: boolean;
  requestHeaderAuth?: { header: string; value: string };
  wakeStopped?: boolean;
}

const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** A rule with defaults applied, or a 400 naming the field (`rules[i].…`). */
export function normalizeRule(rule: IngressRuleInput, i: number): IngressRuleRecord {
  const field = (name: string) => `rules[${i}].${name}`;
  const fail = (name: string, why: string) => invalidRequest(`${field(name)}: ${why}`);
  const hostname = rule.match.hostname.toLowerCase();
  const pattern = parseHostname(hostname, field("match.hostname"));
  const port = rule.match.port ?? DEFAULT_MATCH_PORT;
  if (!isPort(port)) throw fail("match.port", "must be 1-65535");
  if (!isPort(rule.target.port)) throw fail("target.port", "must be 1-65535");
  if (rule.target.instance.length === 0) throw fail("target.instance", "is required");
  const captures = captureNames(pattern);
  if (captures.length > 0) {
    const named = /^\{([a-z][a-z0-9_]*)\}$/.exec(rule.target.instance)?.[1];
    if (named === undefined || !captures.includes(named)) {
      throw fail("target.instance", `a pattern hostname's target must name one of its captures (${captures.map((c) => `{${c}}`).join(", ")})`);
    }
  } else if (rule.target.instance.includes("{")) {
    throw fail("target.instance", "names a capture but the hostname has none");
  }
  const pathPrefix = rule.match.pathPrefix ?? "/";
  if (pathPrefix.length > MAX_PATH_PREFIX || !PATH_PREFIX.test(pathPrefix)) throw fail("match.path_prefix", "must be an absolute URL path (starting with /)");
  const tls = rule.tls ?? false;
  const redirectHttp = rule.redirectHttp ?? false;
  if (redirectHttp && !tls) throw fail("redirect_http", "requires tls");
  const auth = rule.requestHeaderAuth;
  if (auth) {
    if (!HEADER_NAME.test(auth.header)) throw fail("request_header_auth.header", "must be 1-64 letters, digits and dashes");
    if (RESERVED_HEADERS.has(auth.header.toLowerCase())) throw fail("request_header_auth.header", `${auth.header} is reserved`);
    const n = auth.value.length;
    if (n < HEADER_AUTH_VALUE_MIN || n > HEADER_AUTH_VALUE_MAX) {
      throw fail("request_header_auth.value", `must be ${HEADER_AUTH_VALUE_MIN}-${HEADER_AUTH_VALUE_MAX} bytes`);
    }
    if (!HEADER_AUTH_VALUE.test(auth.value)) throw fail("request_header_auth.value", "must be printable ASCII without whitespace, *, { or }");
  }
  return {
    match: { hostname, port, pathPrefix: pathPrefix.length > 1 ? pathPrefix.replace(/\/+$/, "") || "/" : pathPrefix },
    target: { instance: rule.target.instance, port: rule.target.port },
    tls,
    redirectHttp,
    ...(auth ? { requestHeaderAuth: { header: auth.header.toLowerCase(), value: auth.value } } : {}),
    wakeStopped: rule.wakeStopped ?? false,
  };
}

/** The key two rules may not share: the same request would match both. */
export const routeKey = (r: IngressRuleRecord) => `${r.match.hostname}:${r.match.port}${r.match.pathPrefix}`;

/** True when `path` lies under `prefix` on a segment boundary (`/api` holds `/api` and `/api/x`, not `/apix`). */
export function pathUnder(prefix: string, path: string): boolean {
  return prefix === "/" || path === prefix || path.startsWith(`${prefix}/`);
}
