// The command line: `snapvisor serve` runs the server; every other command is a client of a running server
// (over its Unix socket by default). Tables for people, --json for scripts; the server's error message and a
// non-zero exit code on failure.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { SnapvisorApiError, SnapvisorClient, type Snapshot, type Transfer } from "../client.ts";
import { DEFAULT_DATA_DIR } from "../config.ts";
import { DataPaths } from "../../store/paths.ts";
import { serve } from "../server.ts";
import { withProgress } from "./progress.ts";
import { countingStream } from "./stream-progress.ts";
import { followTransfer } from "./transfer-follow.ts";
import { renderTable, type Column } from "./table.ts";
import { renderLineage } from "./tree.ts";

const USAGE = `snapvisor - VM snapshots on KVM hosts

  snapvisor serve [--data-dir DIR] [--listen unix:PATH|HOST:PORT] [--config FILE]

  snapvisor instances ls
  snapvisor instances get ID
  snapvisor instances create NAME [--image default] [--size 512MB] [--vcpus 1] [--overlay-size 1GB] [--tag k=v]...
  snapvisor instances start|stop|restore|delete ID
  snapvisor instances standby ID [--compression zstd|lz4] [--level N] [--delay 30s]
  snapvisor instances fork ID NAME [--from-running] [--target-state Running|Standby|Stopped]
  snapvisor instances exec ID [--follow [--stdin]] -- COMMAND [ARGS...]   (output as it comes; --stdin: feed ours)
  snapvisor cp [--mode 600] SRC DST    one side is INSTANCE:/guest/path, the other a local file
  snapvisor instances logs ID [--lines 100]
  snapvisor snapshots ls [--instance ID] [--kind Standby|Stopped]   (DISK: space used; APPARENT: sparse size)
  snapvisor snapshots get|delete SNAPSHOT
  snapvisor snapshots create INSTANCE [--name N] [--kind Standby|Stopped] [--compression zstd|lz4] [--pin]
  snapvisor snapshots restore INSTANCE SNAPSHOT [--target-state S]
  snapvisor snapshots fork SNAPSHOT NAME [--target-state S]
  snapvisor snapshots export SNAPSHOT [--compress zstd] > FILE   (a tar: manifest first; progress on stderr)
  snapvisor snapshots import < FILE                      (every chunk checked; the snapshot appears when whole)
  snapvisor snapshots verify|compatibility|manifest SNAPSHOT
  snapvisor snapshots push SNAPSHOT --remote REMOTE     (follows the job: bytes and chunks, uploaded vs total)
  snapvisor snapshots pull REMOTE SNAPSHOT              (every chunk checked; the snapshot appears when whole)
  snapvisor remotes ls
  snapvisor remotes snapshots REMOTE                    (what the remote holds, from its manifests)
  snapvisor remotes delete REMOTE SNAPSHOT              (then the chunks nothing names any more: what went)
  snapvisor transfers ls [--state pending|running|done|error]
  snapvisor snapshots pin|unpin SNAPSHOT   (a pinned snapshot is never deleted until unpinned)
  snapvisor schedule get|delete INSTANCE
  snapvisor schedule set INSTANCE --interval 1h|--cron EXPR [--timezone ZONE] [--max-count N] [--max-age 24h]
      [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]
      [--keep-within 48h] [--prefix P]
  snapvisor schedule preview INSTANCE [same options as set: a candidate]   (what retention keeps and removes now)
  snapvisor lineage INSTANCE|SNAPSHOT [--max-depth N]   (instance → snapshots → forks → their snapshots)

Client options: --address unix:PATH|http://HOST:PORT (default: the socket in --data-dir, or SNAPVISOR_ADDRESS),
  --token T (or SNAPVISOR_TOKEN; read from DATA_DIR/auth-token for TCP), --json
Also accepted: rm or remove for delete, list for ls, instance/snapshot/schedules for the group names.`;

const OPTIONS = {
  "data-dir": { type: "string" },
  listen: { type: "string" },
  config: { type: "string" },
  address: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  image: { type: "string" },
  size: { type: "string" },
  "overlay-size": { type: "string" },
  vcpus: { type: "string" },
  tag: { type: "string", multiple: true },
  compression: { type: "string" },
  level: { type: "string" },
  delay: { type: "string" },
  "from-running": { type: "boolean" },
  follow: { type: "boolean" },
  stdin: { type: "boolean" },
  mode: { type: "string" },
  "target-state": { type: "string" },
  lines: { type: "string" },
  instance: { type: "string" },
  kind: { type: "string" },
  name: { type: "string" },
  interval: { type: "string" },
  "max-count": { type: "string" },
  "max-age": { type: "string" },
  cron: { type: "string" },
  timezone: { type: "string" },
  "keep-last": { type: "string" },
  "keep-hourly": { type: "string" },
  "keep-daily": { type: "string" },
  "keep-weekly": { type: "string" },
  "keep-monthly": { type: "string" },
  "keep-yearly": { type: "string" },
  "keep-within": { type: "string" },
  "max-depth": { type: "string" },
  prefix: { type: "string" },
  pin: { type: "boolean" },
  remote: { type: "string" },
  state: { type: "string" },
  compress: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

const INSTANCE_COLUMNS = ["id", "name", "state", "image", "size", "vcpus", "hypervisor", "fork_of_snapshot"];
const SNAPSHOT_COLUMNS: Column[] = [
  "id",
  "name",
  "kind",
  "source_instance_name",
  { key: "allocated_bytes", header: "disk" },
  { key: "size_bytes", header: "apparent" },
  "compression_state",
  "ref_count",
  "created_at",
];

/** Other words a newcomer types for a group or an action; each maps to the one name COMMANDS uses. */
const ALIASES = new Map([
  ["instance", "instances"],
  ["snapshot", "snapshots"],
  ["schedules", "schedule"],
  ["rm", "delete"],
  ["remove", "delete"],
  ["list", "ls"],
]);
const canonical = (word: string | undefined) => (word === undefined ? "" : (ALIASES.get(word) ?? word));

export async function runCli(argv: string[]): Promise<number> {
  const split = argv.indexOf("--");
  const { values, positionals } = parseArgs({
    args: split < 0 ? argv : argv.slice(0, split),
    options: OPTIONS,
    allowPositionals: true,
  });
  const trailing = split < 0 ? [] : argv.slice(split + 1);
  const [group, action, ...args] = positionals;
  if (values.help || group === undefined || group === "help") {
    console.log(USAGE);
    return 0;
  }
  if (group === "serve") return runServe(values);
  const client = new SnapvisorClient({ address: address(values), token: token(values) });
  const out = new Output(values.json ?? false);
  try {
    // `cp` takes its operands where other groups have an action.
    const single = group === "cp" || group === "lineage";
    const command = single ? group : `${canonical(group)} ${canonical(action)}`.trim();
    const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!handler) {
      console.error(`unknown command: ${[group, action].filter(Boolean).join(" ")}\n\n${USAGE}`);
      return 2;
    }
    await handler({ client, args: single ? positionals.slice(1) : args, values, trailing, out });
    return out.exitCode;
  } catch (err) {
    if (err instanceof SnapvisorApiError) {
      console.error(`error: ${err.message} (${err.code}, HTTP ${err.status})`);
    } else if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      return 2;
    } else {
      console.error(`error: ${err instanceof Error ? err.message : err}`);
    }
    return 1;
  }
}

class UsageError extends Error {}

/** `INSTANCE:/abs/path` names a guest file; anything else is a local path. */
function guestSide(operand: string): { instance: string; path: string } | undefined {
  const match = /^([^/:]+):(\/.*)$/.exec(operand);
  return match ? { instance: match[1]!, path: match[2]! } : undefined;
}

/** Prints a streamed exec's output as it arrives; returns its exit code. */
async function followExec(client: SnapvisorClient, id: string, request: { command: string[]; stdin?: string }): Promise<number> {
  for await (const event of client.execStream(id, request)) {
    if (event.type === "error") throw new Error(`${event.message} (${event.code})`);
    if (event.type !== "exit") (event.type === "stdout" ? process.stdout : process.stderr).write(event.data);
    else {
      if (event.stdout_truncated || event.stderr_truncated) console.error("warning: output was cut: the server's output limit was reached");
      return event.exit_code;
    }
  }
  throw new Error("the stream ended before the command's exit");
}

class Output {
  exitCode = 0;
  constructor(readonly json: boolean) {}
  rows(rows: Record<string, unknown>[], columns: Column[]): void {
    console.log(this.json ? JSON.stringify(rows, null, 2) : renderTable(rows, columns));
  }
  one(row: object, columns: Column[]): void {
    this.rows([row as Record<string, unknown>], columns);
  }
  raw(value: unknown): void {
    console.log(typeof value === "string" && !this.json ? value.replace(/\n$/, "") : JSON.stringify(value, null, 2));
  }
}

interface Invocation {
  client: SnapvisorClient;
  args: string[];
  values: Values;
  trailing: string[];
  out: Output;
}

function arg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) throw new UsageError(`missing ${what}`);
  return v;
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const tags = (list: string[] | undefined) =>
  Object.fromEntries((list ?? []).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)] as const));
/** A schedule from the set/preview options; the server checks every value and names the field it refuses. */
function scheduleOf(v: Values): Parameters<SnapvisorClient["setSchedule"]>[1] {
  const count = (name: keyof Values) => (v[name] === undefined ? undefined : Number(v[name]));
  const retention = {
    max_count: count("max-count"),
    max_age: v["max-age"],
    keep_last: count("keep-last"),
    keep_hourly: count("keep-hourly"),
    keep_daily: count("keep-daily"),
    keep_weekly: count("keep-weekly"),
    keep_monthly: count("keep-monthly"),
    keep_yearly: count("keep-yearly"),
    keep_within: v["keep-within"],
  };
  return {
    ...(v.interval ? { interval: v.interval } : {}),
    ...(v.cron ? { cron: v.cron } : {}),
    ...(v.timezone ? { timezone: v.timezone } : {}),
    retention: Object.fromEntries(Object.entries(retention).filter(([, x]) => x !== undefined)),
    ...(v.prefix ? { name_prefix: v.prefix } : {}),
  };
}

const compressionOf = (v: Values) =>
  v.compression ? { enabled: true, algorithm: v.compression, ...(v.level ? { level: Number(v.level) } : {}) } : undefined;

const COMMANDS: Record<string, (i: Invocation) => Promise<void>> = {
  "instances ls": async ({ client, out }) => out.rows(await client.listInstances(), INSTANCE_COLUMNS),
  "instances get": async ({ client, args, out }) => out.raw(await client.getInstance(arg(args, 0, "instance id"))),
  "instances create": async ({ client, args, values: v, out }) =>
    out.one(
      await client.createInstance({
        name: arg(args, 0, "name"),
        ...(v.image ? { image: v.image } : {}),
        ...(v.size ? { size: v.size } : {}),
        ...(v["overlay-size"] ? { overlay_size: v["overlay-size"] } : {}),
        ...(v.vcpus ? { vcpus: Number(v.vcpus) } : {}),
        tags: tags(v.tag),
      }),
      INSTANCE_COLUMNS,
    ),
  "instances start": async ({ client, args, out }) => out.one(await withProgress("booting", client.startInstance(arg(args, 0, "instance id"))), INSTANCE_COLUMNS),
  "instances stop": async ({ client, args, out }) => out.one(await withProgress("stopping", client.stopInstance(arg(args, 0, "instance id"))), INSTANCE_COLUMNS),
  "instances standby": async ({ client, args, values: v, out }) => {
    const compression = compressionOf(v);
    const body = { ...(compression ? { compression } : {}), ...(v.delay ? { compression_delay: v.delay } : {}) };
    out.one(await withProgress("standby", client.standbyInstance(arg(args, 0, "instance id"), body)), INSTANCE_COLUMNS);
  },
  "instances restore": async ({ client, args, out }) => out.one(await withProgress("restoring", client.restoreInstance(arg(args, 0, "instance id"))), INSTANCE_COLUMNS),
  "instances fork": async ({ client, args, values: v, out }) =>
    out.one(
      await withProgress(
        "forking",
        client.forkInstance(arg(args, 0, "instance id"), {
          name: arg(args, 1, "fork name"),
          from_running: v["from-running"] ?? false,
          ...(v["target-state"] ? { target_state: v["target-state"] as "Running" } : {}),
        }),
      ),
      INSTANCE_COLUMNS,
    ),
  "instances exec": async ({ client, args, values: v, trailing, out }) => {
    if (trailing.length === 0) throw new UsageError("exec needs a command after --");
    if (v.follow) {
      const stdin = v.stdin ? await Bun.stdin.text() : undefined;
      out.exitCode = await followExec(client, arg(args, 0, "instance id"), { command: trailing, ...(stdin === undefined ? {} : { stdin }) });
      return;
    }
    const r = await client.exec(arg(args, 0, "instance id"), { command: trailing });
    if (out.json) out.raw(r);
    else {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
    }
    out.exitCode = r.exit_code;
  },
  cp: async ({ client, args, values: v }) => {
    const [from, to] = [guestSide(arg(args, 0, "source")), guestSide(arg(args, 1, "destination"))];
    if (from && !to) await Bun.write(args[1]!, await client.getFile(from.instance, from.path));
    else if (to && !from) await client.putFile(to.instance, to.path, Bun.file(args[0]!), v.mode);
    else throw new UsageError("cp copies between a local file and INSTANCE:/guest/path: exactly one side names an instance");
  },
  "instances logs": async ({ client, args, values: v, out }) => out.raw(await client.logs(arg(args, 0, "instance id"), num(v.lines))),
  "instances delete": async ({ client, args }) => client.deleteInstance(arg(args, 0, "instance id")),
  "snapshots ls": async ({ client, values: v, out }) =>
    // The server checks --kind and names it in a 400 if it is neither kind.
    out.rows(await client.listSnapshots({ source_instance_id: v.instance, kind: v.kind as Snapshot["kind"], name: v.name }), SNAPSHOT_COLUMNS),
  "snapshots get": async ({ client, args, out }) => out.raw(await client.getSnapshot(arg(args, 0, "snapshot id"))),
  "snapshots create": async ({ client, args, values: v, out }) => {
    const compression = compressionOf(v);
    const body = {
      kind: (v.kind ?? "Standby") as "Standby",
      ...(v.pin ? { pinned: true } : {}),
      ...(v.name ? { name: v.name } : {}),
      tags: tags(v.tag),
      ...(compression ? { compression } : {}),
    };
    out.one(await withProgress("snapshotting", client.createSnapshot(arg(args, 0, "instance id"), body)), SNAPSHOT_COLUMNS);
  },
  "snapshots restore": async ({ client, args, values: v, out }) =>
    out.one(
      await withProgress(
        "restoring",
        client.restoreSnapshot(arg(args, 0, "instance id"), arg(args, 1, "snapshot id"), {
          ...(v["target-state"] ? { target_state: v["target-state"] as "Running" } : {}),
        }),
      ),
      INSTANCE_COLUMNS,
    ),
  "snapshots fork": async ({ client, args, values: v, out }) =>
    out.one(
      await withProgress(
        "forking",
        client.forkSnapshot(arg(args, 0, "snapshot id"), {
          name: arg(args, 1, "fork name"),
          ...(v["target-state"] ? { target_state: v["target-state"] as "Running" } : {}),
        }),
      ),
      INSTANCE_COLUMNS,
    ),
  "snapshots delete": async ({ client, args }) => client.deleteSnapshot(arg(args, 0, "snapshot id")),
  "snapshots pin": async ({ client, args, out }) => out.one(await client.setPinned(arg(args, 0, "snapshot id"), true), SNAPSHOT_COLUMNS),
  "snapshots unpin": async ({ client, args, out }) => out.one(await client.setPinned(arg(args, 0, "snapshot id"), false), SNAPSHOT_COLUMNS),
  lineage: async ({ client, args, values: v, out }) => {
    const id = arg(args, 0, "instance or snapshot id");
    const query = v["max-depth"] ? { max_depth: v["max-depth"] } : {};
    // An id names an instance or a snapshot; try the instance first (names resolve there too).
    const lineage = await client.instanceLineage(id, query).catch((err) => {
      if (err instanceof SnapvisorApiError && err.status === 404) return client.snapshotLineage(id, query);
      throw err;
    });
    out.raw(out.json ? lineage : renderLineage(lineage));
  },
  "snapshots export": async ({ client, args, values: v }) => {
    if (v.compress !== undefined && v.compress !== "zstd") throw new UsageError("--compress takes zstd");
    if (process.stdout.isTTY) throw new UsageError("snapshots export writes an archive: redirect it to a file (> FILE)");
    const id = arg(args, 0, "snapshot id");
    const res = await client.exportSnapshot(id, v.compress);
    const length = res.headers.get("content-length");
    const body = countingStream(res.body!, `export ${id}`, length === null ? undefined : Number(length));
    await Bun.write(Bun.stdout, new Response(body));
  },
  "snapshots import": async ({ client, out }) => {
    const size = Bun.stdin.size;
    const body = countingStream(Bun.stdin.stream(), "import", Number.isFinite(size) && size > 0 ? size : undefined);
    out.one(await client.importSnapshot(body), SNAPSHOT_COLUMNS);
  },
  "snapshots verify": async ({ client, args, out }) => {
    const report = await withProgress("verifying", client.verifySnapshot(arg(args, 0, "snapshot id")));
    out.raw(report);
    if (!report.ok) out.exitCode = 1;
  },
  "snapshots compatibility": async ({ client, args, out }) => {
    const verdict = await client.snapshotCompatibility(arg(args, 0, "snapshot id"));
    out.raw(verdict);
    if (!verdict.compatible) out.exitCode = 1;
  },
  "snapshots manifest": async ({ client, args, out }) => out.raw(await client.snapshotManifest(arg(args, 0, "snapshot id"))),
  "snapshots push": async ({ client, args, values: v, out }) => {
    if (!v.remote) throw new UsageError("snapshots push needs --remote");
    transferOutcome(out, await followTransfer(client, await client.pushSnapshot(arg(args, 0, "snapshot id"), v.remote)));
  },
  "snapshots pull": async ({ client, args, out }) => {
    const started = await client.pullSnapshot({ remote: arg(args, 0, "remote"), snapshot_id: arg(args, 1, "snapshot id") });
    transferOutcome(out, await followTransfer(client, started));
  },
  "remotes ls": async ({ client, out }) => out.rows(await client.listRemotes(), ["name", "endpoint", "bucket", "prefix", "region"]),
  "remotes snapshots": async ({ client, args, out }) => {
    const remote = arg(args, 0, "remote");
    out.rows(await allPages((cursor) => client.listRemoteSnapshots(remote, cursor)), [
      "id",
      "name",
      "kind",
      "hypervisor",
      { key: "memory_bytes", header: "memory" },
      { key: "total_bytes", header: "size" },
      "created_at",
      "problem",
    ]);
  },
  "remotes delete": async ({ client, args, out }) => out.raw(await client.deleteRemoteSnapshot(arg(args, 0, "remote"), arg(args, 1, "snapshot id"))),
  "transfers ls": async ({ client, values: v, out }) =>
    // The server checks --state and names it in a 400 if it is not one.
    out.rows(await allPages((cursor) => client.listTransfers(v.state ? { state: v.state as Transfer["state"] } : {}, cursor)), [
      "id",
      "kind",
      "snapshot_id",
      "remote",
      "state",
      "bytes_done",
      "bytes_total",
      "bytes_transferred",
      "created_at",
      "error",
    ]),
  "schedule get": async ({ client, args, out }) => out.raw(await client.getSchedule(arg(args, 0, "instance id"))),
  "schedule set": async ({ client, args, values: v, out }) => {
    if (!v.interval && !v.cron) throw new UsageError("schedule set needs --interval or --cron");
    out.raw(await client.setSchedule(arg(args, 0, "instance id"), scheduleOf(v)));
  },
  "schedule preview": async ({ client, args, values: v, out }) => {
    const candidate = v.interval || v.cron ? scheduleOf(v) : undefined;
    const preview = await client.previewSchedule(arg(args, 0, "instance id"), candidate);
    if (out.json) return out.raw(preview);
    out.rows(
      preview.snapshots.map((s) => ({ ...s, reasons: s.reasons.join(", ") || "-" })),
      ["action", "created_at", "name", "id", "pinned", "ref_count", "reasons"],
    );
    console.log(`keep ${preview.keep}, remove ${preview.remove}`);
  },
  "schedule delete": async ({ client, args }) => client.deleteSchedule(arg(args, 0, "instance id")),
};

/** Every page of a paged list, following its cursor; at most MAX_PAGES of them (a listing that long is cut, said so). */
async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const got = await page(cursor);
    items.push(...got.items);
    if (!got.next) return items;
    cursor = got.next;
  }
  console.error(`(the first ${MAX_PAGES} pages only)`);
  return items;
}

const MAX_PAGES = 100;

/** A finished transfer: printed with --json; a failed one is the command's error. */
function transferOutcome(out: Output, job: Transfer): void {
  if (out.json) out.raw(job);
  if (job.state === "error") throw new Error(job.error ?? "transfer failed");
}

function dataPaths(v: Values): DataPaths {
  return new DataPaths(resolve(v["data-dir"] ?? process.env.SNAPVISOR_DATA_DIR ?? DEFAULT_DATA_DIR));
}

function address(v: Values): string {
  return v.address ?? process.env.SNAPVISOR_ADDRESS ?? `unix:${dataPaths(v).socket}`;
}

function token(v: Values): string | undefined {
  const given = v.token ?? process.env.SNAPVISOR_TOKEN;
  if (given) return given;
  const file = dataPaths(v).authToken;
  return address(v).startsWith("unix:") || !existsSync(file) ? undefined : readFileSync(file, "utf8").trim();
}

async function runServe(v: Values): Promise<number> {
  const listener = await serve({
    ...(v["data-dir"] ? { dataDir: v["data-dir"] } : {}),
    ...(v.listen ? { listen: v.listen } : {}),
    ...(v.config ? { configFile: v.config } : {}),
  });
  console.error(`snapvisor listening on ${listener.address}`);
  const { promise, resolve: done } = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => done());
  await promise;
  console.error("snapvisor stopping: live VMs go to Standby");
  await listener.stop();
  return 0;
}
