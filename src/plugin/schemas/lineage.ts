// Lineage responses: the tree below an instance or a snapshot, as pre-order nodes with their parent and depth.
import { z } from "@hono/zod-openapi";
import { InstanceMemorySchema } from "./instance.ts";
import { DEFAULT_LINEAGE_DEPTH, DEFAULT_LINEAGE_NODES, MAX_LINEAGE_DEPTH, MAX_LINEAGE_NODES } from "../../core/snapshots/lineage.ts";

export const LineageQuerySchema = z.object({
  max_depth: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_LINEAGE_DEPTH)
    .default(DEFAULT_LINEAGE_DEPTH)
    .openapi({ description: "levels below the root to list (each snapshot and each fork is a level); deeper children are cut" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LINEAGE_NODES)
    .default(DEFAULT_LINEAGE_NODES)
    .openapi({ description: "nodes per page; the x-next-cursor response header carries the cursor of the next" }),
  cursor: z.string().max(1024).optional().openapi({ description: "x-next-cursor header value of the previous page" }),
});

export const LineageNodeSchema = z
  .object({
    kind: z.enum(["instance", "snapshot"]),
    id: z.string(),
    name: z.string().nullable(),
    state: z.string().openapi({ description: "instance state; snapshot kind (Standby, Stopped, Error if its payload is lost); Deleted" }),
    created_at: z.string().datetime().nullable(),
    ref_count: z.number().int().nullable().openapi({ description: "snapshots: instances forked from it" }),
    memory: z
      .object({
        links: z.number().int().openapi({ description: "hard links to the memory file: 1 is private, n is shared with n − 1 other payloads" }),
        shared_with: z.number().int(),
        allocated_bytes: z.number().int().openapi({ description: "disk the memory file occupies, once however many links share it" }),
      })
      .nullable()
      .openapi({ description: "how the stored memory is held; null when none is stored (Stopped, Running)" }),
    vmm_memory: InstanceMemorySchema.nullable().openapi({ description: "a running instance's guest memory, as GET /instances/{id} reports it" }),
    disk_bytes: z.number().int().nullable().openapi({ description: "disk space the payload or guest dir occupies" }),
    source_deleted: z.boolean().openapi({ description: "the instance or snapshot it came from no longer exists" }),
    parent_id: z.string().nullable(),
    depth: z.number().int().openapi({ description: "0 for the root" }),
    children_cut: z.boolean().openapi({ description: "it has children below max_depth that are not listed" }),
  })
  .openapi("LineageNode");

export const LineageSchema = z
  .object({
    ancestors: z.array(LineageNodeSchema).openapi({ description: "where the root came from, oldest first (depth 0, no children listed)" }),
    nodes: z.array(LineageNodeSchema).openapi({ description: "the root and its descendants in pre-order, children oldest first" }),
  })
  .openapi("Lineage");
