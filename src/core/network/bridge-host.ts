// What bridge mode needs from the host. Built only when the server runs in bridge mode; user mode has none, so
// nothing in a zero-config start can touch host interfaces.
import type { NetworkLeaseRow, NetworkSettings } from "../../store/schema.ts";

export interface BridgeHost {
  /** Start-up: creates or verifies the bridge and its NAT; refuses a host where that would be unsafe. */
  setup(): Promise<void>;
  /** Creates the lease's TAP on the bridge (isolated port, rate limits) unless it exists. */
  ensureTap(lease: NetworkLeaseRow, settings: NetworkSettings): Promise<void>;
  /** Removes a TAP; one that is already gone is fine. */
  removeTap(tap: string): Promise<void>;
  /** TAPs of ours (by name) attached to the bridge now, for reconciliation. */
  taps(): Promise<string[]>;
}
