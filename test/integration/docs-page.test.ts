// /docs in a real headless Chromium (Debian's `chromium`, installed by scripts/setup), driven over the DevTools
// protocol: the page, served with auth on and mounted under a prefix, renders the operations, an operation's
// description and example, and the schemas, and every request the page makes goes to this server (no CDN, fonts
// or validator badge). Host resolution is also mapped to nowhere, so nothing can leave the machine meanwhile.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { startService, type TestService } from "../harness.ts";

const CHROMIUM = Bun.which("chromium") ?? Bun.which("chromium-browser");
/** Bounds on waiting: Chromium start-up, one protocol call, and polls for the page to finish rendering. */
const STARTUP_CHUNKS = 200;
const CALL_TIMEOUT_MS = 30_000;
const RENDER_POLLS = 300;
const RENDER_POLL_MS = 100;

let svc: TestService;
let server: ReturnType<typeof Bun.serve>;
let profile: string;

beforeAll(async () => {
  if (!CHROMIUM) throw new Error("chromium is not installed: run scripts/setup");
  svc = await startService({ auth: { token: "docs-test-token-0123456789" } });
  const host = new Hono().route("/vm", svc.sv.app);
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: host.fetch });
  profile = mkdtempSync(join(tmpdir(), "sv-chromium-"));
});
afterAll(async () => {
  await server?.stop(true);
  await svc?.close();
  rmSync(profile, { recursive: true, force: true });
});

interface Visit {
  /** Every URL the page requested, in order. */
  requests: string[];
  /** The DOM once `ready` held, and its text as shown. */
  dom: string;
  text: string;
}

/** Opens `url` in a fresh headless Chromium, waits until the JS expression `ready` is true, returns what it saw. */
async function visit(url: string, ready: string): Promise<Visit> {
  const proc = Bun.spawn(
    [
      CHROMIUM!,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      "--remote-debugging-port=0",
      "about:blank",
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  try {
    const page = await pageSocket(await devToolsPort(proc.stderr));
    const requests: string[] = [];
    page.on("Network.requestWillBeSent", (p) => requests.push(p.request.url));
    await page.call("Network.enable");
    await page.call("Page.navigate", { url });
    for (let i = 0; !(await page.evaluate(ready)); i++) {
      if (i >= RENDER_POLLS) throw new Error(`page never got ready (${ready}): ${await page.evaluate("document.body.innerText")}`);
      await Bun.sleep(RENDER_POLL_MS);
    }
    const dom = (await page.evaluate("document.documentElement.outerHTML")) as string;
    const text = (await page.evaluate("document.body.innerText")) as string;
    page.close();
    return { requests, dom, text };
  } finally {
    proc.kill();
    await proc.exited;
  }
}

/** The port Chromium prints on stderr: "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…". */
async function devToolsPort(stderr: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (let chunks = 0; chunks < STARTUP_CHUNKS; chunks++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
    if (m) {
      reader.releaseLock();
      return Number(m[1]);
    }
  }
  throw new Error(`chromium did not start its DevTools endpoint:\n${text}`);
}

/** A minimal DevTools protocol client on the first page target. */
async function pageSocket(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets.find((t) => t.type === "page")!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const pending = new Map<number, (msg: { result?: any; error?: { message: string } }) => void>();
  const listeners = new Map<string, (params: any) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data));
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
    else listeners.get(msg.method)?.(msg.params);
  };
  const call = async (method: string, params: object = {}): Promise<any> => {
    const id = nextId++;
    const answer = new Promise<{ result?: any; error?: { message: string } }>((resolve, reject) => {
      pending.set(id, resolve);
      setTimeout(() => reject(new Error(`${method}: no answer`)), CALL_TIMEOUT_MS);
    });
    ws.send(JSON.stringify({ id, method, params }));
    const msg = await answer;
    pending.delete(id);
    if (msg.error) throw new Error(`${method}: ${msg.error.message}`);
    return msg.result;
  };
  return {
    call,
    on: (event: string, listener: (params: any) => void) => listeners.set(event, listener),
    evaluate: async (expression: string) => (await call("Runtime.evaluate", { expression, returnByValue: true })).result.value,
    close: () => ws.close(),
  };
}

test("a request to another host is recorded (the offline check below can fail)", async () => {
  const page = `http://127.0.0.1:${server.port}/vm/health`;
  const { requests } = await visit(page, `(fetch("https://cdn.example.invalid/x.js").catch(() => 0), document.readyState === "complete")`);
  expect(requests).toContain("https://cdn.example.invalid/x.js");
});

test("/docs renders operations, a description, an example and schemas, asking nothing of other hosts", async () => {
  const origin = `http://127.0.0.1:${server.port}`;
  // Deep link to one operation: it opens expanded, with its description and request example.
  const { requests, dom, text } = await visit(
    `${origin}/vm/docs#/instances/post_instances`,
    `document.querySelectorAll(".opblock").length > 20 && document.querySelector(".models") !== null && document.body.innerText.includes("overlay_size")`,
  );
  const shown = [
    "Create an instance", // a summary
    "/snapshots/{snapshotId}/fork", // a path
    "Fork a snapshot",
    "It is created Stopped: start it to boot.", // the opened operation's description
    '"overlay_size": "1GB"', // its request example
  ];
  expect(shown.filter((s) => !text.includes(s))).toEqual([]);
  expect(dom).toInclude('json-schema-2020-12__title">Snapshot</strong>'); // a schema, in the Schemas section
  // The page, its script and stylesheet, and the document, each from this server under the mount prefix.
  expect(requests).toEqual(expect.arrayContaining([`${origin}/vm/docs/swagger-ui-bundle.js`, `${origin}/vm/docs/swagger-ui.css`, `${origin}/vm/openapi.json`]));
  expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:"))).toEqual([]);
});
