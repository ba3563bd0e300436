// Shared test harness: a snapvisor service on a fresh temp data dir, called through app.request (no socket),
// plus helpers to register images and boot guests. Integration tests share one guest image build.
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/core/service/logger.ts";
import { createSnapvisor, type SnapvisorOptions } from "../src/plugin/create-snapvisor.ts";

export const REPO = join(import.meta.dir, "..");
export const GUEST_DIR = process.env.SNAPVISOR_GUEST_DIR ?? join(REPO, ".cache/guest");

export interface ApiResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestService {
  dataDir: string;
  sv: ReturnType<typeof createSnapvisor>;
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResult<T>>;
  close(): Promise<void>;
}

/** `auth` defaults to false: the harness calls the app in-process, as a host app that authenticates would.
 * With `auth: { token }`, `call` sends the token (tests of refusals send their own requests). */
export async function startService(opts: Partial<SnapvisorOptions> = {}): Promise<TestService> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "sv-"));
  const sv = createSnapvisor({
    auth: false,
    guestImageDir: GUEST_DIR,
    logger: silentLogger,
    scheduler: { enabled: false },
    ...opts,
    dataDir,
  });
  await sv.start();
  return {
    dataDir,
    sv,
    async call(method, path, body, extraHeaders = {}) {
      const headers = opts.auth ? { authorization: `Bearer ${opts.auth.token}`, ...extraHeaders } : extraHeaders;
      const res = await sv.app.request(path, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async close() {
      try {
        await sv.stop();
      } finally {
        if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Registers an image made of placeholder files: enough for everything that does not boot a guest. The files are
 * made in `<data>/image-sources`, one of the default image roots (sources elsewhere are refused).
 */
export async function registerFakeImage(svc: TestService, name = "fake"): Promise<void> {
  mkdirSync(join(svc.dataDir, "image-sources"), { recursive: true });
  const dir = mkdtempSync(join(svc.dataDir, "image-sources", "fake-"));
  writeFileSync(join(dir, "kernel"), "not a kernel");
  writeFileSync(join(dir, "rootfs"), "");
  truncateSync(join(dir, "rootfs"), 8 * 1024 * 1024);
  const res = await svc.call("POST", "/images", { name, kernel: join(dir, "kernel"), rootfs: join(dir, "rootfs") });
  rmSync(dir, { recursive: true, force: true });
  if (res.status !== 201) throw new Error(`register image: ${JSON.stringify(res.body)}`);
}

/** Builds the default guest image once (cached by scripts/build-guest itself). */
export async function ensureGuestImage(): Promise<void> {
  if (existsSync(join(GUEST_DIR, "manifest.json"))) return;
  const proc = Bun.spawn(["bash", join(REPO, "scripts/build-guest"), GUEST_DIR], { stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error("scripts/build-guest failed");
}
