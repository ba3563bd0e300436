// PUT/GET /instances/{id}/files: a file streamed into or out of a Running guest through its agent, bounded by the
// configured size limit. Writes land whole or not at all (the agent renames a completed temp file into place).
import { readFileFromGuest, writeFileInGuest } from "../../hv/guest-agent/index.ts";
import type { CoreContext } from "../service/context.ts";
import { agentFailure, agentTarget } from "./guest-agent-target.ts";
import { endingWith } from "../ingress/activity.ts";

/** Limit for one whole copy: generous, a TCG guest writes ~10 MB/s. */
export const FILE_COPY_TIMEOUT_MS = 600_000;

export async function writeGuestFile(ctx: CoreContext, ref: string, path: string, body: AsyncIterable<Uint8Array>, mode?: number): Promise<number> {
  const { id, socket } = await agentTarget(ctx, ref, "copy files");
  const write = () => writeFileInGuest(socket, path, body, { maxBytes: ctx.config.fileCopyMaxBytes, timeoutMs: FILE_COPY_TIMEOUT_MS, mode });
  return ctx.activity.during(id, "file", write).catch((err: unknown) => {
    throw agentFailure(`write ${path}`, err);
  });
}

export async function readGuestFile(ctx: CoreContext, ref: string, path: string): Promise<{ size: number; chunks: AsyncGenerator<Uint8Array> }> {
  const { id, socket } = await agentTarget(ctx, ref, "copy files");
  // The copy is activity until its last chunk is read (or the reader gives up).
  const end = ctx.activity.begin(id, "file");
  try {
    const file = await readFileFromGuest(socket, path, { maxBytes: ctx.config.fileCopyMaxBytes, timeoutMs: FILE_COPY_TIMEOUT_MS });
    return { size: file.size, chunks: endingWith(file.chunks, end) };
  } catch (err) {
    end();
    throw agentFailure(`read ${path}`, err);
  }
}
