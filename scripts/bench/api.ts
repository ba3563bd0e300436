// API latency and throughput on a large index: 10,000 snapshot records (one real Stopped snapshot, its record
// repeated under new ids and names), served over a Unix socket. Baseline in the same run: a bare Bun.serve on
// another socket answering the same queries straight from bun:sqlite (no router, validation, views or
// ref counts), so the ratio is what snapvisor's API layer costs.
//
//   bun scripts/bench/api.ts [--records 10000] [--requests 500] [--seconds 3] [--concurrency 16]
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createId } from "@paralleldrive/cuid2";
import { median, percentile, printTable } from "./report.ts";
import { benchService } from "./bench-service.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    requests: { type: "string", default: "500" },
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
  },
});
const RECORDS = Number(values.records);
const REQUESTS = Number(values.requests);
const THROUGHPUT_MS = Number(values.seconds) * 1000;
const CONCURRENCY = Number(values.concurrency);
const WARMUP = 50;
const PAGE = 100;

const svc = await benchService();
const sockets = mkdtempSync(join(tmpdir(), "sv-bench-api-"));
try {
  const inst = await svc.call("POST", "/instances", { name: "bench", size: "256MB", overlay_size: "64MB" });
  const first = await svc.call("POST", `/instances/${inst.id}/snapshots`, { kind: "Stopped", name: "seed" });
  const row = svc.sv.core.snapshots.get(first.id)!;
  const ids = [first.id as string];
  const started = Date.now();
  for (let i = 1; i < RECORDS; i++) {
    const id = createId();
    ids.push(id);
    svc.sv.core.snapshots.insert({ ...row, id, name: `copy-${i}`, createdAt: new Date(started + i) });
  }

  const ours = Bun.serve({ unix: join(sockets, "ours.sock"), fetch: svc.sv.app.fetch });
  const db = new Database(join(svc.dataDir, "snapvisor.db"), { readonly: true });
  const listPage = db.query("SELECT * FROM snapshots ORDER BY created_at, id LIMIT ?");
  const listAll = db.query("SELECT * FROM snapshots ORDER BY created_at, id");
  const byId = db.query("SELECT * FROM snapshots WHERE id = ?");
  const bare = Bun.serve({
    unix: join(sockets, "bare.sock"),
    fetch(req) {
      const url = new URL(req.url);
      const id = url.pathname.split("/")[2];
      if (id) return Response.json(byId.get(id));
      const limit = url.searchParams.get("limit");
      return Response.json(limit ? listPage.all(Number(limit)) : listAll.all());
    },
  });

  const get = async (unix: string, path: string) => {
    const res = await fetch(`http://localhost${path}`, { unix });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    await res.arrayBuffer();
  };
  const latencies = async (unix: string, path: (i: number) => string, n: number) => {
    for (let i = 0; i < WARMUP; i++) await get(unix, path(i));
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await get(unix, path(i));
      times.push(performance.now() - t);
    }
    return times;
  };
  const throughput = async (unix: string, path: (i: number) => string) => {
    let done = 0;
    const deadline = performance.now() + THROUGHPUT_MS;
    const worker = async (w: number) => {
      for (let i = w; performance.now() < deadline; i += CONCURRENCY) {
        await get(unix, path(i));
        done++;
      }
    };
    const t = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    return done / ((performance.now() - t) / 1000);
  };

  const one = (i: number) => `/snapshots/${ids[(i * 7919) % ids.length]}`;
  const cases: { name: string; path: (i: number) => string; n: number }[] = [
    { name: `GET /snapshots/{id}`, path: one, n: REQUESTS },
    { name: `GET /snapshots?limit=${PAGE}`, path: () => `/snapshots?limit=${PAGE}`, n: REQUESTS },
    { name: `GET /snapshots (all ${RECORDS})`, path: () => "/snapshots", n: Math.max(10, REQUESTS / 25) },
  ];
  const rows: string[][] = [];
  for (const c of cases) {
    const a = await latencies(join(sockets, "ours.sock"), c.path, c.n);
    const b = await latencies(join(sockets, "bare.sock"), c.path, c.n);
    const ms = (v: number) => v.toFixed(2);
    rows.push([c.name, ms(median(b)), ms(percentile(b, 99)), ms(median(a)), ms(percentile(a, 99)), `${(median(a) / median(b)).toFixed(2)}x`]);
  }
  printTable(
    `API latency over a Unix socket, ${RECORDS} snapshot records, sequential (ms)`,
    ["request", "bare p50", "bare p99", "snapvisor p50", "snapvisor p99", "p50 ratio"],
    rows,
  );
  const rpsBare = await throughput(join(sockets, "bare.sock"), one);
  const rpsOurs = await throughput(join(sockets, "ours.sock"), one);
  printTable(
    `GET /snapshots/{id} throughput, ${CONCURRENCY} concurrent clients in this process, ${values.seconds} s`,
    ["bare req/s", "snapvisor req/s", "ratio"],
    [[rpsBare.toFixed(0), rpsOurs.toFixed(0), `${(rpsOurs / rpsBare).toFixed(2)}x`]],
  );
  ours.stop(true);
  bare.stop(true);
  db.close();
} finally {
  rmSync(sockets, { recursive: true, force: true });
  await svc.close();
}
