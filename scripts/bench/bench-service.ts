// A snapvisor service on a temp data dir for benchmarks, called in-process (no socket in the measurement).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/service/logger.ts";
import { createSnapvisor, type Snapvisor, type SnapvisorOptions } from "../../src/plugin/create-snapvisor.ts";
import { ensureGuestImage, GUEST_DIR } from "../../test/harness.ts";

export interface BenchService {
  dataDir: string;
  sv: Snapvisor;
  call(method: string, path: string, body?: unknown): Promise<any>;
  close(): Promise<void>;
}

/** `options` add to the bench defaults (a network mode, for one). */
export async function benchService(options: Partial<SnapvisorOptions> = {}): Promise<BenchService> {
  await ensureGuestImage();
  const dataDir = mkdtempSync(join(tmpdir(), "sv-bench-"));
  const sv = createSnapvisor({ auth: false, dataDir, guestImageDir: GUEST_DIR, logger: silentLogger, scheduler: { enabled: false }, ...options });
  await sv.start();
  return {
    dataDir,
    sv,
    async call(method, path, body) {
      const init = body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {};
      const res = await sv.app.request(path, { method, ...init });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? undefined : res.json();
    },
    async close() {
      await sv.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
