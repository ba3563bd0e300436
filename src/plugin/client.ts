// A typed client for other Bun services and for the CLI. Request and response types are the API's zod schemas,
// so the client cannot drift from the server. Talks over the server's Unix socket or over TCP with a token.
import type { z } from "@hono/zod-openapi";
import type { ErrorSchema } from "./schemas/common.ts";
import type { ImageSchema, CreateImageSchema } from "./schemas/image.ts";
import type { CreateInstanceSchema, ExecResultSchema, ExecSchema, ForkInstanceSchema, InstanceSchema, StandbySchema } from "./schemas/instance.ts";
import type { ScheduleSchema, SetScheduleSchema } from "./schemas/schedule.ts";
import type { CreateSnapshotSchema, ForkSnapshotSchema, RestoreSnapshotSchema, SnapshotSchema } from "./schemas/snapshot.ts";

export type Instance = z.infer<typeof InstanceSchema>;
export type Snapshot = z.infer<typeof SnapshotSchema>;
export type Image = z.infer<typeof ImageSchema>;
export type SnapshotSchedule = z.infer<typeof ScheduleSchema>;
export type ExecResult = z.infer<typeof ExecResultSchema>;

export interface ClientOptions {
  /** `unix:/path/to/snapvisor.sock` or `http://host:port[/prefix]`. */
  address: string;
  token?: string;
  /** Per-request timeout; lifecycle calls wait for guests, so the default is generous. */
  timeoutMs?: number;
}

export const DEFAULT_CLIENT_TIMEOUT_MS = 300_000;

/** A non-2xx answer, carrying the server's `{code, message}`. */
export class SnapvisorApiError extends Error {
  override readonly name = "SnapvisorApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const enc = encodeURIComponent;

export class SnapvisorClient {
  private readonly base: string;
  private readonly unix: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    if (opts.address.startsWith("unix:")) {
      this.unix = opts.address.slice(5);
      this.base = "http://localhost";
    } else {
      this.base = opts.address.replace(/\/$/, "");
    }
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method,
      ...(this.unix ? { unix: this.unix } : {}),
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!res.ok) {
      let err: Partial<z.infer<typeof ErrorSchema>> = {};
      try {
        err = JSON.parse(text);
      } catch {
        err = { message: text };
      }
      throw new SnapvisorApiError(res.status, err.code ?? "error", err.message ?? `HTTP ${res.status}`);
    }
    const type = res.headers.get("content-type") ?? "";
    return (type.includes("application/json") ? JSON.parse(text) : text) as T;
  }

  health = () => this.request<{ status: "ok" }>("GET", "/health");

  listInstances = () => this.request<Instance[]>("GET", "/instances");
  getInstance = (id: string) => this.request<Instance>("GET", `/instances/${enc(id)}`);
  createInstance = (body: z.input<typeof CreateInstanceSchema>) => this.request<Instance>("POST", "/instances", body);
  deleteInstance = (id: string) => this.request<void>("DELETE", `/instances/${enc(id)}`);
  startInstance = (id: string) => this.request<Instance>("POST", `/instances/${enc(id)}/start`);
  stopInstance = (id: string) => this.request<Instance>("POST", `/instances/${enc(id)}/stop`);
  standbyInstance = (id: string, body: z.input<typeof StandbySchema> = {}) =>
    this.request<Instance>("POST", `/instances/${enc(id)}/standby`, body);
  restoreInstance = (id: string) => this.request<Instance>("POST", `/instances/${enc(id)}/restore`);
  forkInstance = (id: string, body: z.input<typeof ForkInstanceSchema>) => this.request<Instance>("POST", `/instances/${enc(id)}/fork`, body);
  exec = (id: string, body: z.input<typeof ExecSchema>) => this.request<ExecResult>("POST", `/instances/${enc(id)}/exec`, body);
  logs = (id: string, lines = 100) => this.request<string>("GET", `/instances/${enc(id)}/logs`, undefined, { lines: String(lines) });

  listSnapshots = (filter: { source_instance_id?: string; kind?: string; name?: string } = {}) =>
    this.request<Snapshot[]>("GET", "/snapshots", undefined, filter);
  getSnapshot = (id: string) => this.request<Snapshot>("GET", `/snapshots/${enc(id)}`);
  createSnapshot = (instance: string, body: z.input<typeof CreateSnapshotSchema>) =>
    this.request<Snapshot>("POST", `/instances/${enc(instance)}/snapshots`, body);
  restoreSnapshot = (instance: string, snapshot: string, body: z.input<typeof RestoreSnapshotSchema> = {}) =>
    this.request<Instance>("POST", `/instances/${enc(instance)}/snapshots/${enc(snapshot)}/restore`, body);
  forkSnapshot = (id: string, body: z.input<typeof ForkSnapshotSchema>) => this.request<Instance>("POST", `/snapshots/${enc(id)}/fork`, body);
  deleteSnapshot = (id: string) => this.request<void>("DELETE", `/snapshots/${enc(id)}`);

  getSchedule = (instance: string) => this.request<SnapshotSchedule>("GET", `/instances/${enc(instance)}/snapshot-schedule`);
  setSchedule = (instance: string, body: z.input<typeof SetScheduleSchema>) =>
    this.request<SnapshotSchedule>("PUT", `/instances/${enc(instance)}/snapshot-schedule`, body);
  deleteSchedule = (instance: string) => this.request<void>("DELETE", `/instances/${enc(instance)}/snapshot-schedule`);

  listImages = () => this.request<Image[]>("GET", "/images");
  createImage = (body: z.input<typeof CreateImageSchema>) => this.request<Image>("POST", "/images", body);
}
