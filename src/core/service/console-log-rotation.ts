// A guest writes its serial console as fast as it likes and QEMU's file chardev cannot rotate, so the host does:
// every ROTATE_INTERVAL_MS, the console log of each live VM that grew past the limit is copied to `<log>.1` and
// truncated (copy-truncate: QEMU opened it with O_APPEND, so its next write lands at the new end; what is written
// between the copy and the truncation is lost, a fair price for a flooding guest). On disk: at most two files of
// the limit plus what a guest writes in one interval.
import { copyFile, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import type { CoreContext } from "./context.ts";
import { hypervisorFor } from "./hypervisor-lookup.ts";

export const ROTATE_INTERVAL_MS = 1_000;

export class ConsoleLogRotation {
  private timer: ReturnType<typeof setInterval> | undefined;
  private pass: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: CoreContext,
    private readonly maxBytes: number,
  ) {}

  start(): void {
    // A pass that takes longer than the interval is not overlapped by the next.
    this.timer ??= setInterval(() => (this.pass = this.pass.then(() => this.rotateAll())), ROTATE_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** One pass over the live VMs; a log that cannot be rotated now is tried again on the next pass. */
  async rotateAll(): Promise<void> {
    for (const id of this.ctx.vms.ids()) {
      const row = this.ctx.instances.get(id);
      if (!row) continue;
      const log = join(this.ctx.paths.guest(id), hypervisorFor(this.ctx, row.hypervisor).layout().serialLog);
      await this.rotate(log).catch((err: unknown) => this.ctx.logger.warn("console log rotation", { instance: id, error: String(err) }));
    }
  }

  private async rotate(log: string): Promise<void> {
    const size = await stat(log).then((s) => s.size, () => 0);
    if (size <= this.maxBytes) return;
    await copyFile(log, `${log}.1`);
    await truncate(log, 0);
  }
}
