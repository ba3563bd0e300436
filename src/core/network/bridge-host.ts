// What bridge mode needs from the host, per guest. Built only when the server runs in bridge mode; user mode has
// none, so nothing in a zero-config start can touch host interfaces.
import type { NetworkLeaseRow, NetworkSettings } from "../../store/schema.ts";

export interface BridgeHost {
  /** Creates the lease's TAP on the bridge (isolated port, rate limits) unless it exists. */
  ensureTap(lease: NetworkLeaseRow, settings: NetworkSettings): Promise<void>;
  /** Removes a TAP; one that is already gone is fine. */
  removeTap(tap: string): Promise<void>;
}
