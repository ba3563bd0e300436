// Shapes shared by several resources. Field names and enums follow the reference API (snake_case).
import { z } from "@hono/zod-openapi";
import { HYPERVISOR_TYPES } from "../../hv/hypervisor.ts";
import { CODEC_NAMES } from "../../store/codecs/codec-table.ts";
import { MAX_NAME_LENGTH, NAME_PATTERN } from "../../store/paths.ts";
import { TARGET_STATES } from "../../core/instances/target-state.ts";
import { validateTags } from "../../core/tags.ts";

export const ErrorSchema = z
  .object({ code: z.string().openapi({ example: "not_found" }), message: z.string() })
  .openapi("Error");

/** Instance, snapshot and image names. */
export const NameSchema = z
  .string()
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .regex(NAME_PATTERN, "must be lowercase letters, digits and dashes, starting and ending with a letter or digit");

export const TagsSchema = z
  .record(z.string(), z.string())
  .superRefine((tags, ctx) => {
    try {
      validateTags(tags);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    }
  })
  .openapi("Tags", { example: { env: "test" } });

export const HypervisorSchema = z.enum(HYPERVISOR_TYPES).openapi("Hypervisor");

/** State a restore-snapshot or fork leaves the instance in. */
export const TargetStateSchema = z.enum(TARGET_STATES, { error: `target_state must be one of ${TARGET_STATES.join(", ")}` });

/** Go duration string on the wire (`90s`, `1h30m`); parsed by the handler so errors get the reference's codes. */
export const GoDurationSchema = z.string().max(64).openapi({ example: "1h30m0s" });

export const CompressionConfigSchema = z
  .object({
    enabled: z.boolean(),
    algorithm: z.string().max(16).optional().openapi({ example: "zstd", description: `${CODEC_NAMES.join(" or ")} (case-insensitive)` }),
    level: z.number().int().optional().openapi({ description: "zstd 1-19 (default 1), lz4 0-9 (default 0)" }),
  })
  .strict()
  .openapi("SnapshotCompressionConfig");

export const IdParamSchema = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

/** `limit` + `cursor` paging; absent = everything. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  cursor: z.string().max(1024).optional().openapi({ description: "next_cursor header value of the previous page" }),
});
