// Direct traffic to a guest in bridge mode, as the host's connection tracking sees it (/proc/net/nf_conntrack):
// the connections whose original direction goes to the guest's address, and when each last carried a packet. The
// kernel resets an entry's timeout at every packet, so "last packet" = now - (the state's timeout - time left):
// an idle keep-alive connection stops counting once idle, an active one keeps the guest awake. The file is only
// filled while some nftables rule uses conntrack (bridge mode with NAT loads one); without it nothing is seen.
import { readFileSync } from "node:fs";
import type { AutoStandbyPolicy } from "../../store/schema.ts";
import { countsAsActivity } from "./auto-standby-policy.ts";

export const CONNTRACK_FILE = "/proc/net/nf_conntrack";
const TIMEOUTS_DIR = "/proc/sys/net/netfilter";

export interface ConntrackEntry {
  protocol: string;
  /** Seconds until the entry expires. */
  remainingS: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...); undefined for protocols without one. */
  state: string | undefined;
  src: string;
  dst: string;
  dport: number;
  assured: boolean;
}

/** One line of /proc/net/nf_conntrack; undefined when it is not a TCP/UDP entry of the expected shape. */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const fields = line.trim().split(/\s+/);
  const protocol = fields[2];
  if (protocol !== "tcp" && protocol !== "udp") return undefined;
  const remainingS = Number(fields[4]);
  const state = protocol === "tcp" ? fields[5] : undefined;
  // The original direction's tuple comes first; the reply's repeats the same keys later.
  const first = (key: string) => fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
  const [src, dst, dport] = [first("src"), first("dst"), Number(first("dport"))];
  if (!Number.isInteger(remainingS) || !src || !dst || !Number.isInteger(dport)) return undefined;
  return { protocol, remainingS, state, src, dst, dport, assured: fields.includes("[ASSURED]") };
}

/** The timeout (seconds) an entry of this protocol/state was set to at its last packet. */
export type TimeoutOf = (entry: ConntrackEntry) => number | undefined;

export interface DirectActivity {
  /** TCP connections to the guest in ESTABLISHED, but for the host's own (the ingress's pooled connections come
   * from there, and the ingress counts its requests itself). */
  open: number;
  /** The latest packet of any counted connection. */
  lastAt: Date | undefined;
}

export interface DirectTarget {
  guestIp: string;
  /** The host's address on the bridge. */
  hostIp: string;
  policy: AutoStandbyPolicy | null;
}

/** What conntrack saw of traffic to the guest that its policy counts (ignored sources and ports left out). */
export function directActivity(entries: ConntrackEntry[], { guestIp, hostIp, policy }: DirectTarget, now: Date, timeoutOf: TimeoutOf): DirectActivity {
  let open = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of entries) {
    if (e.dst !== guestIp || !countsAsActivity(policy, e.src, e.dport)) continue;
    if (e.state === "ESTABLISHED" && e.src !== hostIp) open++;
    const timeout = timeoutOf(e);
    if (timeout !== undefined) last = Math.max(last, now.getTime() - Math.max(0, timeout - e.remainingS) * 1000);
  }
  return { open, lastAt: Number.isFinite(last) ? new Date(last) : undefined };
}

/** The host's entries and timeouts; undefined when conntrack cannot be read here. */
export function readConntrack(): { entries: ConntrackEntry[]; timeoutOf: TimeoutOf } | undefined {
  let text: string;
  try {
    text = readFileSync(CONNTRACK_FILE, "utf8");
  } catch {
    return undefined;
  }
  const entries = text.split("\n").flatMap((line) => parseConntrackLine(line) ?? []);
  const cache = new Map<string, number | undefined>();
  const sysctl = (name: string) => {
    if (!cache.has(name)) {
      let value: number | undefined;
      try {
        value = Number(readFileSync(`${TIMEOUTS_DIR}/nf_conntrack_${name}`, "utf8").trim());
      } catch {}
      cache.set(name, value);
    }
    return cache.get(name);
  };
  const timeoutOf: TimeoutOf = (e) =>
    e.protocol === "tcp" ? sysctl(`tcp_timeout_${e.state?.toLowerCase()}`) : sysctl(e.assured ? "udp_timeout_stream" : "udp_timeout");
  return { entries, timeoutOf };
}
