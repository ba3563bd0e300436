// Remote listings on the wire: a remote's snapshots, what a remote delete collected, and the listing's cursor
// (opaque to clients; the key the next listing starts after).
import type { z } from "@hono/zod-openapi";
import { invalidRequest } from "../../core/errors.ts";
import type { RemoteSnapshot } from "../../core/snapshots/remote-catalog.ts";
import type { GcReport } from "../../core/snapshots/remote-gc.ts";
import type { RemoteDeleteSchema, RemoteSnapshotSchema } from "../schemas/transfer.ts";

export function remoteSnapshotToWire(s: RemoteSnapshot): z.infer<typeof RemoteSnapshotSchema> {
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    hypervisor: s.hypervisor,
    memory_bytes: s.memoryBytes,
    created_at: s.createdAt,
    total_bytes: s.totalBytes,
    problem: s.problem,
  };
}

export function remoteDeleteToWire(r: GcReport): z.infer<typeof RemoteDeleteSchema> {
  return {
    chunks_deleted: r.chunksDeleted,
    bytes_deleted: r.bytesDeleted,
    chunks_in_use: r.chunksInUse,
    chunks_within_grace: r.chunksWithinGrace,
    skipped: r.skipped,
  };
}

export function encodeKeyCursor(key: string): string {
  return Buffer.from(key).toString("base64url");
}

export function decodeKeyCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, "base64url").toString();
  // A cursor we made re-encodes to itself; anything else (bad base64, control characters) is not one.
  if (key === "" || /[\u0000-\u001f]/.test(key) || encodeKeyCursor(key) !== cursor) throw invalidRequest("cursor is not a value returned in x-next-cursor");
  return key;
}
