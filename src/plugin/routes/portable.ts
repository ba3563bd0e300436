// Snapshots that leave the host: the manifest and its hashing job, verify, the compatibility check, and
// export/import as one tar stream.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { snapshotCompatibility } from "../../core/snapshots/compatibility.ts";
import { exportSnapshot } from "../../core/snapshots/export.ts";
import { importSnapshot } from "../../core/snapshots/import.ts";
import { verifySnapshot } from "../../core/snapshots/verify.ts";
import { snapshotRow } from "../../core/snapshots/view.ts";
import { readManifest } from "../../store/payload/manifest.ts";
import { CompatibilitySchema, ExportQuerySchema, ManifestResponseSchema, VerifyReportSchema } from "../schemas/portable.ts";
import { SnapshotParamSchema, SnapshotSchema } from "../schemas/snapshot.ts";
import { snapshotToWire } from "../wire/to-wire.ts";
import { snapshotExample } from "./examples.ts";
import { errors, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["snapshots"];
const TAR = "application/x-tar";
const binary = z.string().openapi({ format: "binary" });

const manifest = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}/manifest",
  tags,
  summary: "Get a snapshot's manifest",
  description: "The manifest (requirements and a SHA-256 per file and 4 MiB chunk) once hashed, and the hashing job's progress.",
  request: { params: SnapshotParamSchema },
  responses: { 200: jsonResponse(ManifestResponseSchema, "Manifest and job", { job: { state: "running", bytes_done: 4194304, bytes_total: 268435456, error: null }, manifest: null }), ...errors(404) },
});
const verify = createRoute({
  method: "post",
  path: "/snapshots/{snapshotId}/verify",
  tags,
  summary: "Verify a snapshot's files",
  description: "Hashes every payload file again and reports files missing, resized or with chunks that differ from the manifest.",
  request: { params: SnapshotParamSchema },
  responses: {
    200: jsonResponse(VerifyReportSchema, "The report", { snapshot_id: "abc", ok: false, files_checked: 6, bytes_checked: 1024, problems: [{ path: "guest/disk.raw", problem: "chunks", message: "guest/disk.raw: 1 of 4 chunks differ", chunks: [2] }] }),
    ...errors(404, 409),
  },
});
const compatibility = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}/compatibility",
  tags,
  summary: "Can this host restore the snapshot?",
  description: "Restore, fork and import run the same check and refuse with 409 `incompatible_snapshot` and these reasons.",
  request: { params: SnapshotParamSchema },
  responses: { 200: jsonResponse(CompatibilitySchema, "The verdict", { compatible: false, reasons: [{ code: "accel_differs", message: "snapshot was captured under kvm; this host runs qemu under tcg only" }] }), ...errors(404) },
});
const exportRoute = createRoute({
  method: "get",
  path: "/snapshots/{snapshotId}/export",
  tags,
  summary: "Export a snapshot",
  description: "A tar stream: manifest.json first, then every payload file. Content-Length is sent unless compressing on the fly.",
  request: { params: SnapshotParamSchema, query: ExportQuerySchema },
  responses: { 200: { content: { [TAR]: { schema: binary } }, description: "The archive" }, ...errors(400, 404, 409) },
});
const importRoute = createRoute({
  method: "post",
  path: "/snapshots/import",
  tags,
  summary: "Import a snapshot",
  description:
    "Takes an archive made by export. Every chunk is checked against the manifest as it arrives; a truncated or corrupted archive is 400 `invalid_archive` and leaves nothing behind; a snapshot this host cannot restore is 409 `incompatible_snapshot` with typed reasons.",
  request: { body: { content: { [TAR]: { schema: binary } }, required: true } },
  responses: { 201: jsonResponse(SnapshotSchema, "The imported snapshot", snapshotExample), ...errors(400, 409, 507) },
});

export function portableRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(manifest, async (c) => {
      const { snapshotId } = c.req.valid("param");
      snapshotRow(ctx, snapshotId);
      const job = await ctx.manifests.view(snapshotId);
      const stored = await readManifest(ctx.paths.snapshot(snapshotId)).catch(() => undefined);
      return c.json(
        {
          job: job ? { state: job.state, bytes_done: job.bytesDone, bytes_total: job.bytesTotal, error: job.error } : null,
          manifest: stored?.kind === "current" ? stored.manifest : null,
        },
        200,
      );
    })
    .openapi(verify, async (c) => {
      const r = await verifySnapshot(ctx, c.req.valid("param").snapshotId);
      return c.json({ snapshot_id: r.snapshotId, ok: r.ok, files_checked: r.filesChecked, bytes_checked: r.bytesChecked, problems: r.problems }, 200);
    })
    .openapi(compatibility, async (c) => {
      const { snapshotId } = c.req.valid("param");
      snapshotRow(ctx, snapshotId);
      return c.json(await snapshotCompatibility(ctx, snapshotId), 200);
    })
    .openapi(exportRoute, async (c) => {
      const archive = await exportSnapshot(ctx, c.req.valid("param").snapshotId, c.req.valid("query").compress ?? "none");
      const headers: Record<string, string> = { "content-type": TAR, "content-disposition": `attachment; filename="${archive.fileName}"` };
      if (archive.contentLength !== undefined) headers["content-length"] = String(archive.contentLength);
      return c.body(archive.body, 200, headers) as never;
    })
    .openapi(importRoute, async (c) => {
      const body = c.req.raw.body ?? (async function* () {})();
      return c.json(snapshotToWire(await importSnapshot(ctx, body)), 201);
    });
}
