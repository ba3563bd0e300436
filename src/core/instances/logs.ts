// GET /instances/{id}/logs: the tail of the serial console, read from the end of the file.
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { CoreContext } from "../service/context.ts";
import { hypervisorFor } from "../service/hypervisor-lookup.ts";
import { guestDir, resolveInstance } from "./view.ts";

/** Upper bound of what one call reads, whatever `lines` asks for. */
const MAX_TAIL_BYTES = 4 * 1024 * 1024;

export async function readInstanceLog(ctx: CoreContext, ref: string, lines: number): Promise<string> {
  const row = resolveInstance(ctx, ref);
  const file = join(guestDir(ctx, row.id), hypervisorFor(ctx, row.hypervisor).layout().serialLog);
  let handle;
  try {
    handle = await open(file, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, MAX_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    const all = buf.toString("utf8").split("\n");
    if (all.at(-1) === "") all.pop();
    return all.slice(-lines).join("\n") + (all.length ? "\n" : "");
  } finally {
    await handle.close();
  }
}
