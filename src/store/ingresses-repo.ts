// Ingress rows. Core reads and writes ingresses only through this module.
import { asc, eq, like } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { ingresses, type IngressRow } from "./schema.ts";

export class IngressesRepo {
  readonly get: (id: string) => IngressRow | undefined;
  readonly byName: (name: string) => IngressRow | undefined;
  /** Bumped by every change, so the router knows when to rebuild its table. */
  generation = 0;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, ingresses, ingresses.id);
    this.byName = lookupBy(db, ingresses, ingresses.name);
  }

  insert(row: IngressRow): void {
    this.db.insert(ingresses).values(row).run();
    this.generation++;
  }

  /** Ids starting with `prefix` (at most `max`, enough to tell unique from ambiguous). */
  idsWithPrefix(prefix: string, max = 2): string[] {
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    return this.db.select({ id: ingresses.id }).from(ingresses).where(like(ingresses.id, `${escaped}%`)).limit(max).all().map((r) => r.id);
  }

  /** Oldest first. */
  all(): IngressRow[] {
    return this.db.select().from(ingresses).orderBy(asc(ingresses.createdAt), asc(ingresses.id)).all();
  }

  delete(id: string): void {
    this.db.delete(ingresses).where(eq(ingresses.id, id)).run();
    this.generation++;
  }
}
