// Rule hostnames (reference-network §3): a literal name, or a pattern whose labels may be whole-label captures
// (`{instance}.example.com`). Parsing checks the reference's rules; matching returns the captured labels.
import { invalidRequest } from "../errors.ts";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const CAPTURE = /^\{([a-z][a-z0-9_]{0,31})\}$/;
const MAX_HOSTNAME_LENGTH = 253;

export type HostnamePattern = { literal: string } | { labels: (string | { capture: string })[] };

export function parseHostname(hostname: string, field: string): HostnamePattern {
  const fail = (why: string) => invalidRequest(`${field}: ${why}`);
  if (hostname.length === 0) throw fail("is required");
  if (hostname.startsWith("*")) throw fail("wildcards are written as a {capture} label, not *");
  if (hostname.length > MAX_HOSTNAME_LENGTH) throw fail(`longer than ${MAX_HOSTNAME_LENGTH} characters`);
  const seen = new Set<string>();
  const labels = hostname.split(".").map((label) => {
    const capture = CAPTURE.exec(label)?.[1];
    if (capture !== undefined) {
      if (seen.has(capture)) throw fail(`duplicate capture {${capture}}`);
      seen.add(capture);
      return { capture };
    }
    if (label.includes("{") || label.includes("}")) throw fail(`mixed captures: ${JSON.stringify(label)} must be a whole label {name}`);
    if (!LABEL.test(label)) throw fail(`label ${JSON.stringify(label)} must be lowercase letters, digits and dashes`);
    return label;
  });
  return seen.size === 0 ? { literal: hostname } : { labels };
}

export function captureNames(pattern: HostnamePattern): string[] {
  return "literal" in pattern ? [] : pattern.labels.flatMap((l) => (typeof l === "string" ? [] : [l.capture]));
}

/** The captures when `host` (lowercase, no port) matches, else undefined. */
export function matchHostname(pattern: HostnamePattern, host: string): Record<string, string> | undefined {
  if ("literal" in pattern) return pattern.literal === host ? {} : undefined;
  const parts = host.split(".");
  if (parts.length !== pattern.labels.length) return undefined;
  const captures: Record<string, string> = {};
  for (const [i, label] of pattern.labels.entries()) {
    const part = parts[i]!;
    if (typeof label === "string") {
      if (label !== part) return undefined;
    } else {
      if (!LABEL.test(part)) return undefined;
      captures[label.capture] = part;
    }
  }
  return captures;
}
