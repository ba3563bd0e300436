// An instance's network as its API response shows it: the settings, and the lease while the VM exists.
import type { InstanceRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { guestNetworkOf } from "./leases.ts";

export interface NetworkView {
  enabled: boolean;
  downloadBytesPerSec: number;
  uploadBytesPerSec: number;
  /** Present while the instance holds a lease (running or standby). */
  ip?: string;
  mac?: string;
  forwards: { guestPort: number; hostPort: number }[];
}

export function networkView(ctx: CoreContext, row: InstanceRow): NetworkView {
  const settings = row.network ?? { enabled: false, downloadBytesPerSec: 0, uploadBytesPerSec: 0, guestPorts: [] };
  const view = { enabled: settings.enabled, downloadBytesPerSec: settings.downloadBytesPerSec, uploadBytesPerSec: settings.uploadBytesPerSec };
  const lease = settings.enabled ? ctx.networkLeases.lease(row.id) : undefined;
  if (!lease) return { ...view, forwards: [] };
  const guest = guestNetworkOf(ctx, lease);
  const forwards = ctx.networkLeases.forwards(row.id).map((f) => ({ guestPort: f.guestPort, hostPort: f.hostPort }));
  return { ...view, ip: guest.ip, mac: guest.mac, forwards };
}
