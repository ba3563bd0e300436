// The one module that reads configuration: defaults < config file (JSON or YAML) < environment < options.
// Environment: SNAPVISOR__<PATH> with `__` between levels and snake_case names (SNAPVISOR__COMPRESSION_DEFAULT__LEVEL=3),
// plus the shortcuts SNAPVISOR_DATA_DIR, SNAPVISOR_LISTEN, SNAPVISOR_TOKEN, SNAPVISOR_CONFIG, SNAPVISOR_GUEST_DIR and
// SNAPVISOR_IMAGE_ROOTS (directories separated by `:`, as in PATH).
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { normalizeCompression, type CompressionConfig } from "../core/compression/compression-policy.ts";
import { DEFAULT_CORE_CONFIG } from "../core/service/context.ts";
import { NetworkConfigSchema } from "../core/network/network-config.ts";
import { DataPaths, NAME_PATTERN } from "../store/paths.ts";
import type { RemoteTarget } from "../store/remote/remote-store.ts";

export const DEFAULT_DATA_DIR = "./data";
/** Where scripts/build-guest puts the default guest image, relative to the working directory. */
export const DEFAULT_GUEST_DIR = ".cache/guest";
export const DEFAULT_SCHEDULER_TICK_SECONDS = 60;
export const DEFAULT_AUTO_STANDBY = { tickMs: 1_000, maxConcurrent: 16 };
export const DEFAULT_INGRESS = { waitTimeoutMs: 30_000, queueLimit: 256, retryAfterSeconds: 2, upstreamHeaderTimeoutMs: 60_000, upstreamConcurrency: 8 };

const CompressionDefault = z
  .object({ enabled: z.boolean().default(false), algorithm: z.string().default("zstd"), level: z.number().int().optional() })
  .default({ enabled: false, algorithm: "zstd" });

/** `<host>:<port>`, IPv6 hosts in brackets (`[::1]:8080`). */
const ListenAddress = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be <host>:<port>");

const IngressConfig = z
  .object({
    /** Plain-HTTP listeners. Empty (the default) = no ingress listener: serving guests is an explicit opt-in. */
    listen: z.array(ListenAddress).default([]),
    /** TLS listeners with a certificate and key read at start-up (PEM files). ACME is out of scope. */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1), listen: z.array(ListenAddress).min(1) }).strict().optional(),
    /** How long a request waits for its target to wake before a 503 with Retry-After. */
    waitTimeoutMs: z.number().int().positive().default(DEFAULT_INGRESS.waitTimeoutMs),
    /** Requests one instance may hold while it wakes; the next gets a 503 at once. */
    queueLimit: z.number().int().positive().default(DEFAULT_INGRESS.queueLimit),
    retryAfterSeconds: z.number().int().positive().default(DEFAULT_INGRESS.retryAfterSeconds),
    /** A response that has not started by then: an idempotent request of at most 1 MiB is sent again (bounded
     * attempts), any other is answered 504 (it may have run). */
    upstreamHeaderTimeoutMs: z.number().int().positive().default(DEFAULT_INGRESS.upstreamHeaderTimeoutMs),
    /** Requests sent to one guest at once that have not started answering; the others wait in the proxy. A burst
     * past the guest server's listen backlog (busybox httpd: 9) is dropped by the guest and recovered only by TCP
     * retransmission, seconds later: raise it for servers with a larger backlog (most have 128 or more). */
    upstreamConcurrency: z.number().int().positive().default(DEFAULT_INGRESS.upstreamConcurrency),
  })
  .strict()
  .default({ listen: [], ...DEFAULT_INGRESS });

/** Keys inline, or the names of environment variables holding them (resolved at start-up, never logged). */
const RemoteCredentials = z.union([
  z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }).strict(),
  z.object({ accessKeyIdEnv: z.string().min(1), secretAccessKeyEnv: z.string().min(1) }).strict(),
]);

/** An S3-compatible bucket snapshots are pushed to and pulled from (AWS S3, MinIO, Cloudflare R2…). */
const RemoteConfig = z
  .object({
    endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    bucket: z.string().min(1),
    /** Key prefix inside the bucket; leading and trailing `/` are dropped. */
    prefix: z.string().default("").transform((p) => p.replace(/^\/+|\/+$/g, "")),
    region: z.string().min(1).default("us-east-1"),
    credentials: RemoteCredentials,
    /** Garbage collection after a remote delete keeps unreferenced chunks younger than this (a push may be naming them). */
    gcGraceSeconds: z.number().int().nonnegative().default(3600),
  })
  .strict();

export const ConfigSchema = z.object({
  dataDir: z.string().default(DEFAULT_DATA_DIR),
  /** `unix:<path>` (default `<dataDir>/snapvisor.sock`) or `<host>:<port>` for TCP (bearer token required). */
  listen: z.string().optional(),
  /** Bearer token for TCP; generated into `<dataDir>/auth-token` when absent. */
  authToken: z
    .string()
    .min(16, "must hold at least 16 characters: set SNAPVISOR_TOKEN (or authToken in the config file) to a long random secret, or leave it unset to have one generated")
    .optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  guestImageDir: z.string().default(DEFAULT_GUEST_DIR),
  /** Directories `POST /images` may copy files from; empty = `guestImageDir`, `<dataDir>/image-sources`, `<dataDir>/images`. */
  imageRoots: z
    .union([z.array(z.string().min(1)), z.string().transform((list) => list.split(":").filter(Boolean))])
    .default([]),
  hypervisors: z
    .object({
      qemu: z
        .object({
          binary: z.string().default("qemu-system-x86_64"),
          accel: z.enum(["auto", "kvm", "tcg"]).default("auto"),
          machine: z.string().default("pc-q35-7.2"),
          /** Guest RAM: a file in the guest dir (millisecond standby, forks sharing memory) or anonymous memory. */
          memory: z.enum(["file", "anonymous"]).default("file"),
          /** Caps TCG's translation cache (QEMU `tb-size`, MiB): bounds each idle fork's memory on hosts without KVM,
           * at the price of retranslation when a guest's code outgrows it. Unset: QEMU's default (up to 1 GiB). */
          tcgCacheMib: z.number().int().min(1).max(2048).optional(),
        })
        .default({ binary: "qemu-system-x86_64", accel: "auto", machine: "pc-q35-7.2", memory: "file" }),
      cloudHypervisor: z.object({ binary: z.string().default("cloud-hypervisor") }).default({ binary: "cloud-hypervisor" }),
      firecracker: z.object({ binary: z.string().default("firecracker") }).default({ binary: "firecracker" }),
    })
    .default({
      qemu: { binary: "qemu-system-x86_64", accel: "auto", machine: "pc-q35-7.2", memory: "file" },
      cloudHypervisor: { binary: "cloud-hypervisor" },
      firecracker: { binary: "firecracker" },
    }),
  /** Guest networking: `user` (default, no host changes) or `bridge` (managed bridge, TAPs; needs CAP_NET_ADMIN). */
  network: NetworkConfigSchema,
  /** The ingress proxy that serves guests (and wakes Standby ones). */
  ingress: IngressConfig,
  /** Idle auto-standby: how often idle instances are looked at, and how many standbys run at once. */
  autoStandby: z
    .object({
      tickMs: z.number().int().positive().default(DEFAULT_AUTO_STANDBY.tickMs),
      maxConcurrent: z.number().int().positive().default(DEFAULT_AUTO_STANDBY.maxConcurrent),
    })
    .strict()
    .default(DEFAULT_AUTO_STANDBY),
  /** Object-storage remotes by name, for `POST /snapshots/{id}/push?remote=<name>` and `POST /snapshots/pull`. */
  remotes: z.record(z.string().regex(NAME_PATTERN, "remote names are lowercase letters, digits and '-'"), RemoteConfig).default({}),
  /** Server default for snapshot compression (reference `snapshot.compression_default`); disabled = absent. */
  compressionDefault: CompressionDefault,
  scheduler: z
    .object({ enabled: z.boolean().default(true), tickSeconds: z.number().positive().default(DEFAULT_SCHEDULER_TICK_SECONDS) })
    .default({ enabled: true, tickSeconds: DEFAULT_SCHEDULER_TICK_SECONDS }),
  /** Limits on what a guest can make the host hold: exec output, copied files, its console log. */
  agent: z
    .object({
      execOutputLimitBytes: z.number().int().positive().default(DEFAULT_CORE_CONFIG.execOutputLimitBytes),
      fileCopyMaxBytes: z.number().int().positive().default(DEFAULT_CORE_CONFIG.fileCopyMaxBytes),
      consoleLogMaxBytes: z.number().int().positive().default(DEFAULT_CORE_CONFIG.consoleLogMaxBytes),
    })
    .default({
      execOutputLimitBytes: DEFAULT_CORE_CONFIG.execOutputLimitBytes,
      fileCopyMaxBytes: DEFAULT_CORE_CONFIG.fileCopyMaxBytes,
      consoleLogMaxBytes: DEFAULT_CORE_CONFIG.consoleLogMaxBytes,
    }),
  timeouts: z
    .object({
      stopMs: z.number().int().positive().default(DEFAULT_CORE_CONFIG.stopTimeoutMs),
      agentReadyMs: z.number().int().positive().default(DEFAULT_CORE_CONFIG.agentReadyTimeoutMs),
      execMs: z.number().int().positive().default(DEFAULT_CORE_CONFIG.execTimeoutMs),
    })
    .default({
      stopMs: DEFAULT_CORE_CONFIG.stopTimeoutMs,
      agentReadyMs: DEFAULT_CORE_CONFIG.agentReadyTimeoutMs,
      execMs: DEFAULT_CORE_CONFIG.execTimeoutMs,
    }),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

type Tree = Record<string, unknown>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads and validates the configuration; `options` (from code or the CLI) win over everything else. */
export function loadConfig(options: ConfigInput & { configFile?: string } = {}, env: Record<string, string | undefined> = process.env): Config {
  const { configFile = env.SNAPVISOR_CONFIG, ...fromOptions } = options;
  const merged = deepMerge(deepMerge(configFile ? readConfigFile(configFile) : {}, fromEnv(env)), fromOptions as Tree);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`config ${issue.path.join(".")}: ${issue.message}`);
  }
  const config = parsed.data;
  config.dataDir = resolve(config.dataDir);
  config.guestImageDir = resolve(config.guestImageDir);
  if (config.imageRoots.length === 0) {
    const paths = new DataPaths(config.dataDir);
    config.imageRoots = [config.guestImageDir, paths.imageSourcesDir, paths.imagesDir];
  }
  config.imageRoots = config.imageRoots.map((root) => resolve(root));
  serverCompressionDefault(config); // validated at start-up, not on the first standby
  // Environment references become the keys they name: a missing variable is a start-up error, not a failed push.
  for (const [name, target] of Object.entries(remoteTargets(config, env))) {
    config.remotes[name]!.credentials = { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey };
  }
  return config;
}

/** The remotes with their credentials resolved (environment references read from `env`). */
export function remoteTargets(config: Config, env: Record<string, string | undefined> = process.env): Record<string, RemoteTarget> {
  const targets: Record<string, RemoteTarget> = {};
  for (const [name, { credentials, ...where }] of Object.entries(config.remotes)) {
    const secret = (variable: string) => {
      const value = env[variable];
      if (!value) throw new ConfigError(`config remotes.${name}.credentials: environment variable ${variable} is not set`);
      return value;
    };
    targets[name] =
      "accessKeyId" in credentials
        ? { ...where, accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }
        : { ...where, accessKeyId: secret(credentials.accessKeyIdEnv), secretAccessKey: secret(credentials.secretAccessKeyEnv) };
  }
  return targets;
}

/** The server default as core wants it: absent unless enabled (reference §7.1). */
export function serverCompressionDefault(config: Config): CompressionConfig | undefined {
  const d = config.compressionDefault;
  if (!d.enabled) return undefined;
  try {
    return normalizeCompression(d);
  } catch (err) {
    throw new ConfigError(`config compressionDefault: ${err instanceof Error ? err.message : err}`);
  }
}

function readConfigFile(path: string): Tree {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  const text = readFileSync(path, "utf8");
  try {
    return (path.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text)) as Tree;
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${err instanceof Error ? err.message : err}`);
  }
}

const SHORTCUTS: Record<string, string[]> = {
  SNAPVISOR_DATA_DIR: ["dataDir"],
  SNAPVISOR_LISTEN: ["listen"],
  SNAPVISOR_TOKEN: ["authToken"],
  SNAPVISOR_GUEST_DIR: ["guestImageDir"],
  SNAPVISOR_IMAGE_ROOTS: ["imageRoots"],
};

function fromEnv(env: Record<string, string | undefined>): Tree {
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const path = SHORTCUTS[name] ?? (name.startsWith("SNAPVISOR__") ? name.slice(11).split("__").map(camel) : undefined);
    if (path) setPath(tree, path, envValue(raw));
  }
  return tree;
}

const camel = (s: string) => s.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function envValue(raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Tree;
  node[path.at(-1)!] = value;
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isTree(b) && isTree(v) ? deepMerge(b, v) : v;
  }
  return out;
}

const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);
