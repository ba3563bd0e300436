// Routes that reach into a Running guest through its agent: exec as a stream (chunked NDJSON) and file copy.
// NDJSON rather than a WebSocket: it is plain HTTP, so it works over the Unix socket, through app.request in an
// embedding service, behind the same bearer auth and with curl, without Bun.serve upgrade plumbing the plugin
// cannot count on when it is mounted in another app.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { streamExecInInstance } from "../../core/instances/exec.ts";
import { readGuestFile, writeGuestFile } from "../../core/instances/guest-files.ts";
import { streamedErrorBody } from "../errors.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { ExecStreamEventSchema, ExecStreamSchema, FileQuerySchema, FileUploadQuerySchema, FileWrittenSchema } from "../schemas/guest.ts";
import { ExecStreamOutput } from "../wire/exec-stream.ts";
import { requestExamples } from "./examples.ts";
import { ID_NOTE } from "./instances.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";

const tags = ["instances"];

const execStream = createRoute({
  method: "post",
  path: "/instances/{id}/exec/stream",
  tags,
  summary: "Run a command in the guest, streaming its output",
  description:
    "Like `exec`, but answers at once with `application/x-ndjson`: one line per output chunk (`{type: stdout|stderr, data}`, " +
    "UTF-8), then `{type: exit, exit_code, stdout_truncated, stderr_truncated}` or `{type: error, code, message}`. A client " +
    "that reads too slowly loses output beyond the server's output limit (flagged as truncated), never server memory. " +
    `Several commands may run at once; standby, stop and delete end running ones with an error. ${ID_NOTE}`,
  request: { params: IdParamSchema, body: jsonBody(ExecStreamSchema, { ...requestExamples.exec, stdin: "input\n" }) },
  responses: {
    200: { content: { "application/x-ndjson": { schema: ExecStreamEventSchema } }, description: "Output events, then the exit" },
    ...errors(400, 404, 409),
  },
});

const putFile = createRoute({
  method: "put",
  path: "/instances/{id}/files",
  tags,
  summary: "Copy a file into the guest",
  description:
    "Streams the request body (any size up to the server's file limit, exempt from the 1 MiB body limit) into `path`, " +
    `which is replaced only once the whole file arrived. ${ID_NOTE}`,
  request: {
    params: IdParamSchema,
    query: FileUploadQuerySchema,
    body: { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } }, required: false },
  },
  responses: { 200: jsonResponse(FileWrittenSchema, "Written", { path: "/root/data.bin", bytes: 1024 }), ...errors(400, 404, 409) },
});

const getFile = createRoute({
  method: "get",
  path: "/instances/{id}/files",
  tags,
  summary: "Copy a file out of the guest",
  description: `Streams the regular file at \`path\` (up to the server's file limit). ${ID_NOTE}`,
  request: { params: IdParamSchema, query: FileQuerySchema },
  responses: {
    200: { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } }, description: "The file" },
    ...errors(400, 404, 409),
  },
});

export function guestRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(execStream, async (c) => {
      const { command, timeout_ms, stdin } = c.req.valid("json");
      const output = new ExecStreamOutput(ctx.config.execOutputLimitBytes);
      const run = await streamExecInInstance(ctx, c.req.valid("param").id, {
        command,
        timeoutMs: timeout_ms,
        stdin: stdin === undefined ? undefined : once(new TextEncoder().encode(stdin)),
        onOutput: (stream, bytes) => output.write(stream, bytes),
        signal: output.cancelled,
      });
      run().then(
        (exitCode) => output.exit(exitCode),
        (err: unknown) => output.fail(streamedErrorBody(err, ctx.paths.root)),
      );
      return c.body(output.readable, 200, { "content-type": "application/x-ndjson" }) as never;
    })
    .openapi(putFile, async (c) => {
      const { path, mode } = c.req.valid("query");
      const body = c.req.raw.body ?? once(new Uint8Array(0));
      const bytes = await writeGuestFile(ctx, c.req.valid("param").id, path, body, mode === undefined ? undefined : parseInt(mode, 8));
      return c.json({ path, bytes }, 200);
    })
    .openapi(getFile, async (c) => {
      const file = await readGuestFile(ctx, c.req.valid("param").id, c.req.valid("query").path);
      return c.body(pulled(file.chunks), 200, { "content-type": "application/octet-stream", "content-length": String(file.size) }) as never;
    });
}

/** A stream that asks the guest for the next chunk only when the client took the last one. */
function pulled(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: () => void chunks.return(undefined),
  });
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
