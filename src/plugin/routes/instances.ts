// Instance endpoints: one createRoute per operation; each handler parses, calls one core function, returns.
// The module returns its chained app, so the typed client (client.ts) sees every path, body and answer.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { notSupported } from "../../core/errors.ts";
import { execInInstance } from "../../core/instances/exec.ts";
import { createInstance } from "../../core/instances/create.ts";
import { deleteInstance } from "../../core/instances/delete.ts";
import { forkInstance } from "../../core/instances/fork.ts";
import { listInstances } from "../../core/instances/list.ts";
import { readInstanceLog } from "../../core/instances/logs.ts";
import { startInstance } from "../../core/instances/start.ts";
import { stopInstance } from "../../core/instances/stop.ts";
import { loadInstance } from "../../core/instances/view.ts";
import { restoreInstance } from "../../core/instances/restore.ts";
import { standbyInstance } from "../../core/instances/standby.ts";
import { decodeCursor, encodeCursor, NEXT_CURSOR_HEADER } from "../wire/cursor.ts";
import { bandwidth, byteSize, compression, delay, snapshotPolicy } from "../wire/request-values.ts";
import { IdParamSchema, PageQuerySchema } from "../schemas/common.ts";
import {
  CreateInstanceSchema,
  ExecResultSchema,
  ExecSchema,
  ForkInstanceSchema,
  InstanceSchema,
  LogsQuerySchema,
  NoOptionsSchema,
  StandbySchema,
} from "../schemas/instance.ts";
import { instanceToWire } from "../wire/to-wire.ts";
import { mailboxesFromWire } from "../wire/mailboxes.ts";
import { autoStandbyFromWire } from "../wire/auto-standby.ts";
import { execResultExample, forkExample, instanceExample, requestExamples } from "./examples.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["instances"];
const byId = { params: IdParamSchema };
export const ID_NOTE = "`{id}` is an instance id, a name, or a unique id prefix.";

const list = createRoute({
  method: "get",
  path: "/instances",
  tags,
  summary: "List instances",
  description: `Every instance, oldest first. With \`limit\`, the \`${NEXT_CURSOR_HEADER}\` response header carries the cursor of the next page.`,
  request: { query: PageQuerySchema },
  responses: { 200: jsonResponse(z.array(InstanceSchema), "Instances, oldest first", [instanceExample]) },
});

const create = createRoute({
  method: "post",
  path: "/instances",
  tags,
  summary: "Create an instance",
  description: "Registers a new instance from an image, with its own sparse disk overlay. It is created Stopped: start it to boot.",
  request: { body: jsonBody(CreateInstanceSchema, requestExamples.createInstance) },
  responses: {
    201: jsonResponse(InstanceSchema, "The new, Stopped instance", { ...instanceExample, state: "Stopped", started_at: null }),
    ...errors(400, 404, 409, 501, 507),
  },
});

const get = createRoute({
  method: "get",
  path: "/instances/{id}",
  tags,
  summary: "Get an instance",
  description: ID_NOTE,
  request: byId,
  responses: { 200: jsonResponse(InstanceSchema, "The instance", instanceExample), ...errors(404) },
});

const remove = createRoute({
  method: "delete",
  path: "/instances/{id}",
  tags,
  summary: "Delete an instance",
  description: `Ends its VM if one runs and removes its disk and standby memory. Snapshots of it are kept. ${ID_NOTE}`,
  request: byId,
  responses: { 204: { description: "Deleted" }, ...errors(404) },
});

/** The lifecycle actions share a shape; `name` stays a literal type so the client sees each path. */
const action = <N extends string, R extends object = object>(name: N, summary: string, description: string, request?: R) =>
  createRoute({
    method: "post",
    path: `/instances/{id}/${name}` as const,
    tags,
    summary,
    description: `${description} ${ID_NOTE}`,
    request: { ...byId, ...(request as R) },
    responses: { 200: jsonResponse(InstanceSchema, "The instance afterwards", instanceExample), ...errors(400, 404, 409, 501, 507) },
  });

const noOptions = { body: jsonBody(NoOptionsSchema, {}, false) };
const start = action(
  "start",
  "Start an instance",
  "Cold boots a Stopped instance and waits until it runs. An instance last booted from an older generation of its image (`default@<hash>`, see GET /images) boots the image's current kernel, initrd and command line on its own disk, and keeps them; a restore resumes on the files its standby or snapshot was captured with.",
  noOptions,
);
const stop = action("stop", "Stop an instance", "Powers the VM off: a graceful shutdown first, then the process is ended.", noOptions);
const standby = action(
  "standby",
  "Put an instance in standby",
  "Saves the VM's memory and device state to disk and ends the VMM; restore resumes it where it was. The body is optional: it can ask for the saved memory to be compressed, now or after a delay.",
  { body: jsonBody(StandbySchema, requestExamples.standby, false) },
);
const restore = action("restore", "Restore a standby instance", "Resumes a Standby instance from its saved memory.", noOptions);

const fork = createRoute({
  method: "post",
  path: "/instances/{id}/fork",
  tags,
  summary: "Fork an instance",
  description: `A new instance from another instance's current state. A running source needs \`from_running\`: it is paused briefly while its memory is captured, then resumed. ${ID_NOTE}`,
  request: { ...byId, body: jsonBody(ForkInstanceSchema, requestExamples.forkInstance) },
  responses: { 201: jsonResponse(InstanceSchema, "The fork", forkExample), ...errors(400, 404, 409, 501, 507) },
});

const exec = createRoute({
  method: "post",
  path: "/instances/{id}/exec",
  tags,
  summary: "Run a command in the guest",
  description: `Runs a command through the guest agent and waits for it to end. ${ID_NOTE}`,
  request: { ...byId, body: jsonBody(ExecSchema, requestExamples.exec) },
  responses: { 200: jsonResponse(ExecResultSchema, "Exit code and output", execResultExample), ...errors(400, 404, 409) },
});

const logs = createRoute({
  method: "get",
  path: "/instances/{id}/logs",
  tags,
  summary: "Read the serial console",
  description: `The last \`lines\` lines of the guest's serial console, as plain text. ${ID_NOTE}`,
  request: { ...byId, query: LogsQuerySchema },
  responses: {
    200: {
      content: { "text/plain": { schema: z.string(), example: "Welcome to Alpine Linux\nlocalhost login:\n" } },
      description: "Tail of the serial console",
    },
    ...errors(404),
  },
});

export function instanceRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(list, async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = await listInstances(ctx, { limit, after: decodeCursor(cursor) });
      if (page.next) c.header(NEXT_CURSOR_HEADER, encodeCursor(page.next));
      return c.json(page.items.map(instanceToWire), 200);
    })
    .openapi(create, async (c) => {
      const body = c.req.valid("json");
      if (body.volumes.length > 0) throw notSupported("volumes are not supported yet: attach data through the image's disk");
      const view = await createInstance(ctx, {
        name: body.name,
        image: body.image,
        memoryBytes: byteSize(body.size, "size"),
        overlayBytes: byteSize(body.overlay_size, "overlay_size"),
        vcpus: body.vcpus,
        hypervisor: body.hypervisor,
        env: body.env,
        tags: body.tags,
        snapshotPolicy: snapshotPolicy(body.snapshot_policy),
        skipGuestAgent: body.skip_guest_agent,
        network: {
          enabled: body.network.enabled,
          downloadBytesPerSec: bandwidth(body.network.bandwidth_download, "bandwidth_download"),
          uploadBytesPerSec: bandwidth(body.network.bandwidth_upload, "bandwidth_upload"),
          guestPorts: (body.network.port_forwards ?? []).map((f) => f.guest_port),
        },
        ...(body.auto_standby ? { autoStandby: autoStandbyFromWire(body.auto_standby) } : {}),
      });
      return c.json(instanceToWire(view), 201);
    })
    .openapi(get, async (c) => c.json(instanceToWire(await loadInstance(ctx, c.req.valid("param").id)), 200))
    .openapi(remove, async (c) => {
      await deleteInstance(ctx, c.req.valid("param").id);
      return c.body(null, 204);
    })
    .openapi(start, async (c) => c.json(instanceToWire(await startInstance(ctx, c.req.valid("param").id)), 200))
    .openapi(stop, async (c) => c.json(instanceToWire(await stopInstance(ctx, c.req.valid("param").id)), 200))
    .openapi(standby, async (c) => {
      // An empty standby body is `{}` (reference §3.8): the validator skips a request without one.
      const body = c.req.valid("json") ?? {};
      const view = await standbyInstance(ctx, c.req.valid("param").id, {
        compression: compression(body.compression, "invalid_snapshot_compression"),
        compressionDelayMs:
          body.compression_delay === undefined
            ? undefined
            : delay(body.compression_delay, "compression_delay", "invalid_compression_delay"),
      });
      return c.json(instanceToWire(view), 200);
    })
    .openapi(restore, async (c) => c.json(instanceToWire(await restoreInstance(ctx, c.req.valid("param").id)), 200))
    .openapi(fork, async (c) => {
      const { name, from_running, target_state, mailboxes } = c.req.valid("json");
      const input = { name, fromRunning: from_running, targetState: target_state, mailboxes: mailboxesFromWire(mailboxes) };
      const view = await forkInstance(ctx, c.req.valid("param").id, input);
      return c.json(instanceToWire(view), 201);
    })
    .openapi(exec, async (c) => {
      const { command, timeout_ms } = c.req.valid("json");
      const r = await execInInstance(ctx, c.req.valid("param").id, command, timeout_ms);
      const truncated = { stdout_truncated: r.stdoutTruncated, stderr_truncated: r.stderrTruncated };
      return c.json({ exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, ...truncated }, 200);
    })
    .openapi(logs, async (c) => c.text(await readInstanceLog(ctx, c.req.valid("param").id, c.req.valid("query").lines), 200));
}
