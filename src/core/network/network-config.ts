// The server's network config (reference-network §1.2), read by src/plugin/config.ts. `user` is the default and
// needs nothing from the host; `bridge` is opt-in and is the only mode that changes host interfaces or firewall.
import { z } from "zod";
import { parseSubnet } from "./address-pool.ts";

export const NetworkConfigSchema = z
  .object({
    mode: z.enum(["user", "bridge"]).default("user"),
    /** Bridge mode: the managed bridge (created when missing, verified when present). */
    bridgeName: z.string().regex(/^[a-zA-Z0-9_-]{1,15}$/, "must be an interface name of 1 to 15 letters, digits, - or _").default("svbr0"),
    subnet: z
      .string()
      .default("10.100.0.0/16")
      .refine((s) => safeSubnet(s), "must be an IPv4 CIDR with room for guests, such as 10.100.0.0/16"),
    /** Empty: the subnet's first host address. */
    gateway: z.string().default(""),
    /** Interface NAT goes out through; empty: no NAT (guests reach the bridge's address only). */
    uplink: z.string().default(""),
    dns: z.string().default("1.1.1.1"),
    /** NAT through `uplink` when one is set (needs net.ipv4.ip_forward=1). */
    nat: z.boolean().default(true),
    /** Guests on the bridge cannot reach each other (isolated bridge ports), as the reference. */
    isolateGuests: z.boolean().default(true),
  })
  .default({ mode: "user", bridgeName: "svbr0", subnet: "10.100.0.0/16", gateway: "", uplink: "", dns: "1.1.1.1", nat: true, isolateGuests: true });

export type NetworkConfig = z.infer<typeof NetworkConfigSchema>;

function safeSubnet(s: string): boolean {
  try {
    return parseSubnet(s).prefix <= 30;
  } catch {
    return false;
  }
}
