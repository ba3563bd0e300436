// GET /instances: ordered by created_at then id, with limit + cursor paging (product.md §4.6).
import type { CoreContext } from "../service/context.ts";
import { describeInstance, type InstanceView } from "./view.ts";

export interface Page<T> {
  items: T[];
  /** Position of the last item when more may follow. */
  next?: { createdAt: Date; id: string };
}

export async function listInstances(
  ctx: CoreContext,
  page: { limit?: number; after?: { createdAt: Date; id: string } },
): Promise<Page<InstanceView>> {
  const rows = ctx.instances.list(page);
  const items = await Promise.all(rows.map((r) => describeInstance(ctx, r)));
  const last = rows.at(-1);
  return { items, ...(page.limit !== undefined && rows.length === page.limit && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}) };
}
