// Network leases and port forwards. Core allocates through this module only; the unique indexes of the schema
// are the last word on who holds an address.
import { eq } from "drizzle-orm";
import type { Db } from "./db.ts";
import { networkLeases, portForwards, type NetworkLeaseRow, type PortForwardRow } from "./schema.ts";

export type NewLease = Omit<NetworkLeaseRow, "createdAt"> & { createdAt: Date };

export class NetworkRepo {
  constructor(private readonly db: Db) {}

  lease(instanceId: string): NetworkLeaseRow | undefined {
    return this.db.select().from(networkLeases).where(eq(networkLeases.instanceId, instanceId)).get();
  }

  forwards(instanceId: string): PortForwardRow[] {
    return this.db.select().from(portForwards).where(eq(portForwards.instanceId, instanceId)).all();
  }

  leases(): NetworkLeaseRow[] {
    return this.db.select().from(networkLeases).all();
  }

  usedHostPorts(): Set<number> {
    return new Set(this.db.select({ port: portForwards.hostPort }).from(portForwards).all().map((r) => r.port));
  }

  /** Lease and forwards in one transaction: a unique index refusing any of them leaves nothing. */
  insert(lease: NewLease, forwards: { hostPort: number; guestPort: number }[]): void {
    this.db.transaction((tx) => {
      tx.insert(networkLeases).values(lease).run();
      for (const f of forwards) tx.insert(portForwards).values({ ...f, instanceId: lease.instanceId }).run();
    });
  }

  release(instanceId: string): void {
    this.db.transaction((tx) => {
      tx.delete(portForwards).where(eq(portForwards.instanceId, instanceId)).run();
      tx.delete(networkLeases).where(eq(networkLeases.instanceId, instanceId)).run();
    });
  }
}
