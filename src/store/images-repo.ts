// Registered guest images.
import { asc, eq } from "drizzle-orm";
import { lookupBy, type Db } from "./db.ts";
import { images, type ImageRow } from "./schema.ts";

export class ImagesRepo {
  readonly get: (name: string) => ImageRow | undefined;

  constructor(private readonly db: Db) {
    this.get = lookupBy(db, images, images.name);
  }

  upsert(row: ImageRow): void {
    this.db.insert(images).values(row).onConflictDoUpdate({ target: images.name, set: row }).run();
  }

  /** The row named `from` goes by `row.name` now (and says what `row` says), in one transaction. */
  rename(from: string, row: ImageRow): void {
    this.db.transaction((tx) => {
      tx.delete(images).where(eq(images.name, from)).run();
      tx.insert(images).values(row).onConflictDoUpdate({ target: images.name, set: row }).run();
    });
  }

  list(): ImageRow[] {
    return this.db.select().from(images).orderBy(asc(images.name)).all();
  }
}
