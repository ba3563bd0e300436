// Registered guest images.
import { asc } from "drizzle-orm";
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

  list(): ImageRow[] {
    return this.db.select().from(images).orderBy(asc(images.name)).all();
  }
}
