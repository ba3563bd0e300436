// What copying a guest dir (snapshot capture, fork) adds to the data dir's disk: the blocks its disks and logs
// hold. The standby payload beside them is left out: its memory file is hard-linked, not copied, and the rest of
// it (device state, the saved VM record) is small.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { allocatedSize } from "../../store/file-sizes.ts";
import { GUEST_FILES } from "../../store/payload/layout.ts";

export async function guestCopyBytes(dir: string): Promise<number> {
  const standby = join(dir, GUEST_FILES.standbyDir);
  return (await allocatedSize(dir)) - (existsSync(standby) ? await allocatedSize(standby) : 0);
}
