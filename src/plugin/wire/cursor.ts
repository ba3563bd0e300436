// Opaque paging cursors for list endpoints: the (created_at, id) of the last item of a page.
import { invalidRequest } from "../../core/errors.ts";

export const NEXT_CURSOR_HEADER = "x-next-cursor";

export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(`${p.createdAt.getTime()}:${p.id}`).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): CursorPosition | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d+):([a-z0-9]+)$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) throw invalidRequest("cursor is not a value returned in x-next-cursor");
  return { createdAt: new Date(Number(m[1])), id: m[2]! };
}
