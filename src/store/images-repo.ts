// Registered guest images.
import { asc, eq } from "drizzle-orm";
import type { Db } from "./db.ts";
import { images, type ImageRow } from "./schema.ts";

export class ImagesRepo {
  constructor(private readonly db: Db) {}

  upsert(row: ImageRow): void {
    this.db.insert(images).values(row).onConflictDoUpdate({ target: images.name, set: row }).run();
  }

  get(name: string): ImageRow | undefined {
    return this.db.select().from(images).where(eq(images.name, name)).get();
  }

  list(): ImageRow[] {
    return this.db.select().from(images).orderBy(asc(images.name)).all();
  }
}
