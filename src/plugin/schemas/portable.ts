// Request and response shapes of the portable-snapshot routes: manifest, hashing progress, verify, compatibility,
// export/import.
import { z } from "@hono/zod-openapi";
import { INCOMPATIBILITY_CODES } from "../../core/snapshots/compatibility.ts";
import { EXPORT_COMPRESSIONS } from "../../core/snapshots/export.ts";

export const ManifestJobSchema = z
  .object({
    state: z.enum(["pending", "running", "done", "error"]),
    bytes_done: z.number().int(),
    bytes_total: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi("ManifestJob", { description: "The background job hashing the snapshot's files into its manifest." });

export const ManifestResponseSchema = z
  .object({
    job: ManifestJobSchema.nullable(),
    manifest: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The manifest (store/payload/manifest.ts), null until hashed." }),
  })
  .openapi("SnapshotManifest");

export const VerifyReportSchema = z
  .object({
    snapshot_id: z.string(),
    ok: z.boolean(),
    files_checked: z.number().int(),
    bytes_checked: z.number().int(),
    problems: z.array(
      z.object({
        path: z.string(),
        problem: z.enum(["missing", "size", "chunks", "unexpected"]),
        message: z.string(),
        chunks: z.array(z.number().int()).openapi({ description: "Indexes of the 4 MiB chunks whose SHA-256 differs" }),
      }),
    ),
  })
  .openapi("VerifyReport");

export const ReasonSchema = z.object({ code: z.enum(INCOMPATIBILITY_CODES), message: z.string() });

export const CompatibilitySchema = z.object({ compatible: z.boolean(), reasons: z.array(ReasonSchema) }).openapi("Compatibility");

export const ExportQuerySchema = z.object({
  compress: z.enum(EXPORT_COMPRESSIONS, { error: "compress must be one of none, zstd" }).optional().openapi({ description: "zstd: files of 4 MiB or more travel as zstd frames, one per chunk" }),
});
