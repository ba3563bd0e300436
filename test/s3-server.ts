// A local S3-compatible server for tests and benchmarks: s3rver (npm) on 127.0.0.1, on a free port, with one
// bucket in a temp dir that stop() removes. It runs under Node in a child process (test/fixtures/s3rver-node.mjs)
// with OpenSSL's legacy provider: its continuation tokens (any cut listing) are DES-encrypted, which Bun's crypto
// lacks and Node 20 refuses by default. Its default keys are the only ones it accepts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** How long s3rver may take to say it listens. */
const START_TIMEOUT_MS = 30_000;

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** Where s3rver keeps objects (tests that damage a stored chunk reach it here). */
  dir: string;
  /** A `remotes` entry for snapvisor's config. */
  remote(prefix?: string): { endpoint: string; bucket: string; prefix: string; region: string; credentials: typeof S3RVER_KEYS };
  stop(): Promise<void>;
}

export async function startLocalS3(bucket = "snapshots"): Promise<LocalS3> {
  const dir = mkdtempSync(join(tmpdir(), "sv-s3-"));
  const child = Bun.spawn(["node", "--openssl-legacy-provider", join(import.meta.dir, "fixtures/s3rver-node.mjs"), dir, bucket], { stdout: "pipe", stderr: "inherit" });
  const stop = async () => {
    child.kill("SIGTERM");
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const reader = child.stdout.getReader();
  const first = await Promise.race([reader.read(), Bun.sleep(START_TIMEOUT_MS).then(() => undefined)]);
  reader.releaseLock();
  const line = first?.value ? new TextDecoder().decode(first.value) : "";
  if (!line.includes("port")) {
    await stop();
    throw new Error(`s3rver did not start: ${JSON.stringify(line)}`);
  }
  const { port } = JSON.parse(line) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    dir,
    remote: (prefix = "") => ({ endpoint, bucket, prefix, region: "us-east-1", credentials: S3RVER_KEYS }),
    stop,
  };
}
