// A typed client for other Bun services and for the CLI, derived with Hono's `hc` from the app's own type: paths,
// parameters, bodies and answers are checked against the routes, so the client cannot drift from the server.
// Talks over the server's Unix socket (Bun fetch's `unix` option) or over TCP with a bearer token.
import type { z } from "@hono/zod-openapi";
import { hc, type ClientResponse } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import type { SnapvisorApp } from "./app.ts";
import type { ErrorSchema } from "./schemas/common.ts";
import type { ImageSchema } from "./schemas/image.ts";
import type { ExecResultSchema, InstanceSchema } from "./schemas/instance.ts";
import type { ExecStreamEventSchema } from "./schemas/guest.ts";
import type { ScheduleSchema } from "./schemas/schedule.ts";
import type { LineageSchema } from "./schemas/lineage.ts";
import type { SnapshotSchema } from "./schemas/snapshot.ts";
import type { TransferSchema } from "./schemas/transfer.ts";
import { NEXT_CURSOR_HEADER } from "./wire/cursor.ts";

export type Instance = z.infer<typeof InstanceSchema>;
export type Snapshot = z.infer<typeof SnapshotSchema>;
export type Image = z.infer<typeof ImageSchema>;
export type SnapshotSchedule = z.infer<typeof ScheduleSchema>;
export type Lineage = z.infer<typeof LineageSchema>;
export type ExecResult = z.infer<typeof ExecResultSchema>;
export type Transfer = z.infer<typeof TransferSchema>;
export type ExecStreamEvent = z.infer<typeof ExecStreamEventSchema>;

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

/** The body of a response's 2xx variants (the error variants are thrown as SnapvisorApiError). */
type Success<R> = R extends ClientResponse<infer T, infer S, infer _F> ? (S extends 204 ? void : S extends SuccessStatusCode ? T : never) : never;

/** Sends the request (`send` runs inside, so a bad argument rejects like a failed call) and unwraps the answer. */
async function unwrap<R extends ClientResponse<unknown, number, string>>(send: () => Promise<R>): Promise<Success<R>> {
  const res = await send();
  if (res.status === 204) return undefined as Success<R>;
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
  return (type.includes("application/json") ? JSON.parse(text) : text) as Success<R>;
}

/** A page of a paged list and the cursor of the next one (its x-next-cursor header), absent on the last page. */
async function unwrapPage<R extends ClientResponse<unknown, number, string>>(send: () => Promise<R>): Promise<{ items: Success<R>; next?: string }> {
  const res = await send();
  const next = res.headers.get(NEXT_CURSOR_HEADER) ?? undefined;
  return { items: await unwrap(async () => res), ...(next ? { next } : {}) };
}

function transport(opts: ClientOptions) {
  const unix = opts.address.startsWith("unix:") ? opts.address.slice("unix:".length) : undefined;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  return hc<SnapvisorApp>(unix ? "http://localhost" : opts.address.replace(/\/$/, ""), {
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
      fetch(input, { ...init, ...(unix ? { unix } : {}), signal: AbortSignal.timeout(timeoutMs) }).catch((err: Error) => {
        // A missing socket or a refused port says only "ENOENT": name the address and the likely cause.
        if (err.name === "TimeoutError") throw err;
        throw new Error(`cannot reach snapvisor at ${opts.address} (is \`snapvisor serve\` running?): ${err.message}`, { cause: err });
      }),
  });
}

/** A path parameter: hc inserts it verbatim, and drops an empty one (which would hit the parent path). */
function segment(value: string): string {
  if (value === "") throw new Error("an id or name cannot be empty");
  return encodeURIComponent(value);
}

type Body<T extends (args: never) => unknown> = Parameters<T>[0] extends { json: infer J } ? J : never;
type Query<T extends (args: never) => unknown> = NonNullable<Parameters<T>[0]> extends { query: infer Q } ? Q : never;

export class SnapvisorClient {
  private readonly api: ReturnType<typeof transport>;

  constructor(opts: ClientOptions) {
    this.api = transport(opts);
  }

  private get instance() {
    return this.api.instances[":id"];
  }

  health = () => unwrap(() => this.api.health.$get());

  listInstances = () => unwrap(() => this.api.instances.$get({ query: {} }));
  getInstance = (id: string) => unwrap(() => this.instance.$get({ param: { id: segment(id) } }));
  createInstance = (json: Body<typeof this.api.instances.$post>) => unwrap(() => this.api.instances.$post({ json }));
  deleteInstance = (id: string) => unwrap(() => this.instance.$delete({ param: { id: segment(id) } }));
  startInstance = (id: string) => unwrap(() => this.instance.start.$post({ param: { id: segment(id) }, json: {} }));
  stopInstance = (id: string) => unwrap(() => this.instance.stop.$post({ param: { id: segment(id) }, json: {} }));
  standbyInstance = (id: string, json: Body<typeof this.instance.standby.$post> = {}) =>
    unwrap(() => this.instance.standby.$post({ param: { id: segment(id) }, json }));
  restoreInstance = (id: string) => unwrap(() => this.instance.restore.$post({ param: { id: segment(id) }, json: {} }));
  forkInstance = (id: string, json: Body<typeof this.instance.fork.$post>) => unwrap(() => this.instance.fork.$post({ param: { id: segment(id) }, json }));
  exec = (id: string, json: Body<typeof this.instance.exec.$post>) => unwrap(() => this.instance.exec.$post({ param: { id: segment(id) }, json }));
  /** exec as it runs: the NDJSON events of /exec/stream, parsed one line at a time. */
  execStream = async function* (this: SnapvisorClient, id: string, json: Body<typeof this.instance.exec.stream.$post>) {
    const res = await this.instance.exec.stream.$post({ param: { id: segment(id) }, json });
    if (!res.ok) await unwrap(async () => res);
    const lines = res.body!.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const text of lines) {
      const parts = (pending + text).split("\n");
      pending = parts.pop()!;
      for (const line of parts) if (line) yield JSON.parse(line) as ExecStreamEvent;
    }
  };
  /** Streams `body` into `path` in the guest. */
  putFile = (id: string, path: string, body: ReadableStream<Uint8Array> | Blob, mode?: string) =>
    unwrap(() => this.instance.files.$put({ param: { id: segment(id) }, query: { path, ...(mode ? { mode } : {}) } }, { init: { body } }));
  /** The guest file's bytes as a Response body (a non-2xx answer is thrown). */
  getFile = async (id: string, path: string): Promise<Response> => {
    const res = await this.instance.files.$get({ param: { id: segment(id) }, query: { path } });
    if (!res.ok) await unwrap(async () => res);
    return res as unknown as Response;
  };
  logs = (id: string, lines = 100) => unwrap(() => this.instance.logs.$get({ param: { id: segment(id) }, query: { lines: String(lines) } }));

  listSnapshots = (filter: Query<typeof this.api.snapshots.$get> = {}) =>
    unwrap(() => this.api.snapshots.$get({ query: filter }));
  getSnapshot = (snapshotId: string) => unwrap(() => this.api.snapshots[":snapshotId"].$get({ param: { snapshotId: segment(snapshotId) } }));
  createSnapshot = (id: string, json: Body<typeof this.instance.snapshots.$post>) =>
    unwrap(() => this.instance.snapshots.$post({ param: { id: segment(id) }, json }));
  restoreSnapshot = (id: string, snapshotId: string, json: Body<(typeof this.instance.snapshots)[":snapshotId"]["restore"]["$post"]> = {}) =>
    unwrap(() => this.instance.snapshots[":snapshotId"].restore.$post({ param: { id: segment(id), snapshotId: segment(snapshotId) }, json }));
  forkSnapshot = (snapshotId: string, json: Body<(typeof this.api.snapshots)[":snapshotId"]["fork"]["$post"]>) =>
    unwrap(() => this.api.snapshots[":snapshotId"].fork.$post({ param: { snapshotId: segment(snapshotId) }, json }));
  deleteSnapshot = (snapshotId: string) => unwrap(() => this.api.snapshots[":snapshotId"].$delete({ param: { snapshotId: segment(snapshotId) } }));
  snapshotManifest = (snapshotId: string) => unwrap(() => this.api.snapshots[":snapshotId"].manifest.$get({ param: { snapshotId: segment(snapshotId) } }));
  verifySnapshot = (snapshotId: string) => unwrap(() => this.api.snapshots[":snapshotId"].verify.$post({ param: { snapshotId: segment(snapshotId) } }));
  snapshotCompatibility = (snapshotId: string) =>
    unwrap(() => this.api.snapshots[":snapshotId"].compatibility.$get({ param: { snapshotId: segment(snapshotId) } }));
  /** The snapshot's tar archive as a Response body (Content-Length unless compressed on the fly; a non-2xx answer is thrown). */
  exportSnapshot = async (snapshotId: string, compress?: "zstd"): Promise<Response> => {
    const res = await this.api.snapshots[":snapshotId"].export.$get({ param: { snapshotId: segment(snapshotId) }, query: compress ? { compress } : {} });
    if (!res.ok) await unwrap(async () => res);
    return res as unknown as Response;
  };
  /** Streams an archive made by exportSnapshot into a new snapshot. */
  importSnapshot = (body: ReadableStream<Uint8Array> | Blob) =>
    unwrap(() => this.api.snapshots.import.$post({}, { init: { body } }));

  listRemotes = () => unwrap(() => this.api.remotes.$get());
  pushSnapshot = (snapshotId: string, remote: string) =>
    unwrap(() => this.api.snapshots[":snapshotId"].push.$post({ param: { snapshotId: segment(snapshotId) }, query: { remote } }));
  pullSnapshot = (json: Body<typeof this.api.snapshots.pull.$post>) => unwrap(() => this.api.snapshots.pull.$post({ json }));
  listRemoteSnapshots = (remote: string, cursor?: string) =>
    unwrapPage(() => this.api.remotes[":remote"].snapshots.$get({ param: { remote: segment(remote) }, query: cursor ? { cursor } : {} }));
  /** Removes the snapshot's manifest from the remote, then the chunks nothing names any more. */
  deleteRemoteSnapshot = (remote: string, snapshotId: string) =>
    unwrap(() => this.api.remotes[":remote"].snapshots[":snapshotId"].$delete({ param: { remote: segment(remote), snapshotId: segment(snapshotId) } }));
  listTransfers = (query: Omit<Query<typeof this.api.transfers.$get>, "cursor">, cursor?: string) =>
    unwrapPage(() => this.api.transfers.$get({ query: { ...query, ...(cursor ? { cursor } : {}) } }));
  getTransfer = (transferId: string) => unwrap(() => this.api.transfers[":transferId"].$get({ param: { transferId: segment(transferId) } }));

  getSchedule = (id: string) => unwrap(() => this.instance["snapshot-schedule"].$get({ param: { id: segment(id) } }));
  setSchedule = (id: string, json: Body<(typeof this.instance)["snapshot-schedule"]["$put"]>) =>
    unwrap(() => this.instance["snapshot-schedule"].$put({ param: { id: segment(id) }, json }));
  deleteSchedule = (id: string) => unwrap(() => this.instance["snapshot-schedule"].$delete({ param: { id: segment(id) } }));
  /** What retention would do now, for the current schedule or a candidate one. */
  previewSchedule = (id: string, json?: Body<(typeof this.instance)["snapshot-schedule"]["preview"]["$post"]>) =>
    unwrap(() => this.instance["snapshot-schedule"].preview.$post({ param: { id: segment(id) }, json }));
  setPinned = (snapshotId: string, pinned: boolean) =>
    unwrap(() => this.api.snapshots[":snapshotId"].$patch({ param: { snapshotId: segment(snapshotId) }, json: { pinned } }));
  instanceLineage = (id: string, query: Query<typeof this.instance.lineage.$get> = {}) =>
    unwrap(() => this.instance.lineage.$get({ param: { id: segment(id) }, query }));
  snapshotLineage = (snapshotId: string, query: Query<(typeof this.api.snapshots)[":snapshotId"]["lineage"]["$get"]> = {}) =>
    unwrap(() => this.api.snapshots[":snapshotId"].lineage.$get({ param: { snapshotId: segment(snapshotId) }, query }));

  listImages = () => unwrap(() => this.api.images.$get());
  createImage = (json: Body<typeof this.api.images.$post>) => unwrap(() => this.api.images.$post({ json }));
}
