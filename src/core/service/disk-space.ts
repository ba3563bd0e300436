// The data dir's disk: enough room is checked before an operation writes a payload of known size, and a full disk
// hit anyway (the size was an estimate, or something else filled the disk meanwhile) becomes the same typed
// error instead of whatever the failing writer said.
import { DomainError, insufficientStorage, isNoSpace } from "../errors.ts";
import type { CoreContext } from "./context.ts";
import { describeBytes } from "./describe-bytes.ts";

/** Throws insufficient_storage (507) when the data dir's file system has fewer than `bytes` free. */
export async function ensureFreeSpace(ctx: CoreContext, bytes: number, what: string): Promise<void> {
  const free = await ctx.host.freeBytes(ctx.paths.root);
  if (bytes > free) throw noRoom(ctx, bytes, what, free);
}

/**
 * insufficient_storage when `err` (or anything in its cause chain) is a full disk; undefined otherwise. One that
 * already is (an inner step's own check) is kept as it was: it names the step that ran out.
 */
export async function storageError(ctx: CoreContext, err: unknown, bytes: number, what: string): Promise<DomainError | undefined> {
  if (err instanceof DomainError && err.code === "insufficient_storage") return err;
  if (!isNoSpace(err)) return undefined;
  return noRoom(ctx, bytes, `${what} ran out of space:`, await ctx.host.freeBytes(ctx.paths.root).catch(() => undefined), err);
}

/** Runs `write`; a full disk it hits is rethrown as insufficient_storage, any other error as it was. */
export async function mapNoSpace<T>(ctx: CoreContext, bytes: number, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw (await storageError(ctx, err, bytes, what)) ?? err;
  }
}

function noRoom(ctx: CoreContext, bytes: number, what: string, free: number | undefined, cause?: unknown): DomainError {
  const has = free === undefined ? "" : `, ${describeBytes(free)} free`;
  return insufficientStorage(`${what} needs ${describeBytes(bytes)} in the data dir ${ctx.paths.root}${has}`, cause);
}
