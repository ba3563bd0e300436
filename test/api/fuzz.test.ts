// Property-based fuzzing of the whole API: for every route and method in the app's own /openapi.json, random
// bodies, query strings and path ids never produce a 5xx or a hang; every error is a JSON `{code, message}` that
// names no host path; and the service still answers /health afterwards. VMs run on the fake VMM (no QEMU).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import fc from "fast-check";
import { REPO } from "../harness.ts";
import { FAKE_HYPERVISOR, startFakeVmmService, type FakeVmmService } from "./fake-vmm-service.ts";

/** Seeded, so a failure reproduces; printed with the request count. */
const SEED = 20_261_130;
const RUNS_PER_ROUTE = 160;
/** The 5xx that are answers, not failures: 501 not_supported (a driver cannot do it, as the reference says) and
 * 507 insufficient_storage (the data dir's file system is full). */
const DOMAIN_5XX = new Set([501, 507]);
/** Longest any one request may take before it counts as a hang (a fake VM starts in well under a second). */
const HANG_MS = 30_000;

interface Route {
  method: string;
  path: string;
  queryNames: string[];
  bodyFields: string[];
  /** The route's documented example body: mutated field by field, so requests also get past validation. */
  example: Record<string, unknown> | undefined;
}

interface FuzzRequest {
  ids: string[];
  query: [string, string][];
  body: Uint8Array | string | undefined;
  contentType: string | undefined;
}

let svc: FakeVmmService;
let routes: Route[];
/** Ids and names of the current fixtures, so some requests reach the handlers' happy paths and state checks. */
let known: Record<"instance" | "snapshot" | "image", string[]> = { instance: [], snapshot: [], image: [] };
/** Which fixtures a path parameter names. */
const PARAM_KINDS: Record<string, keyof typeof known> = { id: "instance", snapshotId: "snapshot", name: "image" };
const anyKnown = () => fc.constantFrom(...known.instance, ...known.snapshot, ...known.image);
let sent = 0;

beforeAll(async () => {
  svc = await startFakeVmmService();
  routes = openApiRoutes((await svc.call("GET", "/openapi.json")).body);
});

afterAll(async () => {
  console.log(`fuzz: ${sent} requests over ${routes.length} routes (seed ${SEED})`);
  await svc?.close();
});

/** A Running instance with a Standby snapshot, and a Stopped one: fresh for each route (the previous route may
 * have deleted, stopped or forked them). */
async function freshFixtures(): Promise<void> {
  await removeAll();
  const running = await svc.createInstance("fuzz-running");
  const stopped = await svc.createInstance("fuzz-stopped");
  expect((await svc.call("POST", `/instances/${running}/start`)).status).toBe(200);
  const snapshot = await svc.call("POST", `/instances/${running}/snapshots`, { kind: "Standby", name: "fuzz-snap" });
  expect(snapshot.status).toBe(201);
  known = { instance: [running, stopped, "fuzz-running", "fuzz-stopped"], snapshot: [snapshot.body.id, "fuzz-snap"], image: ["fake"] };
}

/** Every instance (and its VMM) and snapshot, so fake VMM processes do not pile up from route to route. */
async function removeAll(): Promise<void> {
  for (const inst of (await svc.call("GET", "/instances")).body) expect((await svc.call("DELETE", `/instances/${inst.id}`)).status).toBe(204);
  for (const snap of (await svc.call("GET", "/snapshots")).body) {
    if (snap.pinned) expect((await svc.call("PATCH", `/snapshots/${snap.id}`, { pinned: false })).status).toBe(200);
    expect((await svc.call("DELETE", `/snapshots/${snap.id}`)).status).toBe(204);
  }
}

function openApiRoutes(doc: any): Route[] {
  const found: Route[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const queryNames = (op.parameters ?? []).filter((p: any) => p.in === "query").map((p: any) => p.name as string);
      const content = op.requestBody?.content?.["application/json"];
      const schema = content?.schema?.$ref ? doc.components.schemas[content.schema.$ref.split("/").pop()] : content?.schema;
      const bodyFields = Object.keys(schema?.properties ?? {});
      found.push({ method: method.toUpperCase(), path, queryNames, bodyFields, example: content?.example });
    }
  }
  return found;
}

const hostileText = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "..", ".", "/", "%2F", "..%2F..%2Fetc%2Fpasswd", "/etc/shadow", "/dev/zero", "\u0000", "%", "%zz", "health"),
  fc.nat({ max: 200_000 }).map((n) => "x".repeat(n)),
);

/** Percent-encoded bytes that are not UTF-8 (a lone continuation, an overlong `/`, a surrogate, 0xFF) or NUL. */
const badPercent = fc.constantFrom("%C3%28", "%FF%FE", "%E0%80%AF", "%ED%A0%80", "%C0%AE%C0%AE%2F", "%00", "%80");

/** A path parameter: mostly a fixture of the kind it names, else anything a client could put there. */
function pathParam(name: string): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...known[PARAM_KINDS[name] ?? "instance"]), weight: 5 },
    { arbitrary: anyKnown(), weight: 1 },
    { arbitrary: hostileText.map(encodeURIComponent), weight: 3 },
    { arbitrary: badPercent, weight: 1 },
    // Unencoded: slashes, dots, `?`, `#` and stray `%` reach the router as they are.
    { arbitrary: hostileText.map((s) => s.slice(0, 200)), weight: 1 },
    { arbitrary: fc.nat({ max: 20_000 }).map((n) => "a".repeat(n)), weight: 1 },
  );
}

/** Any JSON value, nested arbitrarily; the fields a schema declares get random values of any type. */
const jsonValue = fc.jsonValue({ maxDepth: 4 });

const freshName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);

/** Values that mean something to this service: fixture ids and names, drivers, states, edge sizes, fresh names. */
const plausible = () =>
  fc.oneof(
    anyKnown(),
    fc.constantFrom("fake", "cloud-hypervisor", "qemu", "firecracker", "Running", "Standby", "Stopped", "zstd", "lz4"),
    fc.constantFrom("128MB", "16MB", "0", "1PB", "7PB", "-1MB", "1h", "0s", "-5m", "99999999999h", 0, -1, 1e308, 2 ** 53, true),
    freshName,
  );

/** What the fixtures need where the documented example names something this host lacks (image, hypervisor) or
 * something the first success takes (the new object's name). */
const FIXTURE_FIELDS: Record<string, fc.Arbitrary<unknown>> = {
  image: fc.constant("fake"),
  hypervisor: fc.constant(FAKE_HYPERVISOR),
  name: freshName,
};

/** The example body, made to fit the fixtures, with up to two declared fields dropped or replaced by a plausible
 * or random value: most of these pass validation and reach core with one odd value. */
function mutatedExample(route: Route): fc.Arbitrary<Record<string, unknown>> {
  const fields = [...new Set([...Object.keys(route.example ?? {}), ...route.bodyFields])];
  const fitted = fc.record(Object.fromEntries(Object.entries(FIXTURE_FIELDS).filter(([f]) => fields.includes(f))));
  const replacement = fc.oneof({ arbitrary: plausible(), weight: 3 }, jsonValue, hostileText, fc.constant(undefined));
  const mutations = fc.array(fc.tuple(fc.constantFrom(...(fields.length > 0 ? fields : ["x"])), replacement), { maxLength: 2 });
  return fc
    .tuple(fitted, mutations)
    .map(([fit, changes]) => JSON.parse(JSON.stringify({ ...route.example, ...fit, ...Object.fromEntries(changes) })));
}

function bodyFor(route: Route): fc.Arbitrary<Uint8Array | string | undefined> {
  const declared = route.bodyFields.length > 0 ? fc.constantFrom(...route.bodyFields) : fc.string({ maxLength: 8 });
  const fieldName = fc.oneof({ arbitrary: declared, weight: 9 }, fc.constantFrom("target_sate", "__proto__", "constructor", ""));
  const wellNamed = fc.dictionary(fieldName, fc.oneof(jsonValue, hostileText), { maxKeys: 6 });
  return fc.oneof(
    { arbitrary: mutatedExample(route).map((o) => JSON.stringify(o)), weight: 8 },
    { arbitrary: wellNamed.map((o) => JSON.stringify(o)), weight: 3 },
    { arbitrary: jsonValue.map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: fc.constantFrom("", "   ", "{", "null", "[]", "{}", '{"a":1,}', "\"str\"", "1e999", "-0"), weight: 1 },
    { arbitrary: fc.nat({ max: 200_000 }).map((n) => "[".repeat(n) + "]".repeat(n)), weight: 1 },
    { arbitrary: fc.nat({ max: 200_000 }).map((n) => `{"name":"${"é".repeat(n)}"}`), weight: 1 },
    // Invalid UTF-8: lone continuation bytes and truncated sequences, inside and outside a JSON string.
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, ...b, 0xc3, 0x22, 0x7d])), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 1 },
    { arbitrary: hostileText, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

function requestFor(route: Route): fc.Arbitrary<FuzzRequest> {
  const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => pathParam(m[1]!));
  const queryKey = fc.oneof(fc.constantFrom(...route.queryNames, "limit", "cursor", "lines"), fc.string({ maxLength: 10 }));
  // Already encoded for the query string, so that bytes which are not UTF-8 can be sent too.
  const queryValue = fc.oneof(
    fc.integer().map(String),
    fc.constantFrom("-1", "0", "1e9", "NaN", "", "abc"),
    hostileText.map((s) => encodeURIComponent(s.slice(0, 5000))),
    badPercent,
  );
  const hasBody = route.method !== "GET";
  return fc.record({
    ids: fc.tuple(...params),
    query: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }),
    body: hasBody ? bodyFor(route) : fc.constant(undefined),
    contentType: fc.oneof(
      { arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8"), weight: 8 },
      fc.constantFrom("text/plain", "multipart/form-data", "application/x-www-form-urlencoded", undefined),
    ),
  });
}

function urlOf(route: Route, req: FuzzRequest): string {
  let i = 0;
  const path = route.path.replace(/\{[^}]+\}/g, () => req.ids[i++]!);
  const query = req.query.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join("&");
  return query ? `${path}?${query}` : path;
}

async function send(route: Route, req: FuzzRequest): Promise<Response> {
  sent++;
  const headers: Record<string, string> = req.contentType ? { "content-type": req.contentType } : {};
  let timer: Timer | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([svc.sv.app.request(urlOf(route, req), { method: route.method, headers, body: req.body }), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Absolute host paths the server knows and a client must never see in a message. */
const hostPaths = () => [svc.dataDir, REPO, tmpdir()];

async function checkAnswer(route: Route, req: FuzzRequest): Promise<void> {
  const res = await send(route, req);
  const text = await res.text();
  const where = `${route.method} ${urlOf(route, req).slice(0, 300)} -> ${res.status} ${text.slice(0, 300)}`;
  if (res.status >= 500 && !DOMAIN_5XX.has(res.status)) throw new Error(`5xx: ${where}`);
  if (res.status < 400) return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${where}`);
  }
  const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || typeof message !== "string") throw new Error(`error body is not {code, message}: ${where}`);
  const leaked = hostPaths().find((p) => message.includes(p));
  if (leaked) throw new Error(`message names host path ${leaked}: ${where}`);
}

test("random requests on every route: never a 5xx or a hang, always {code, message}, still healthy", async () => {
  expect(routes.length).toBeGreaterThanOrEqual(15);
  for (const [index, route] of routes.entries()) {
    await freshFixtures();
    await fc.assert(
      fc.asyncProperty(requestFor(route), (req) => checkAnswer(route, req)),
      { seed: SEED + index, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
    );
  }
  expect((await svc.call("GET", "/health")).body).toEqual({ status: "ok" });
  expect((await svc.call("GET", "/instances")).status).toBe(200);
}, 600_000);
