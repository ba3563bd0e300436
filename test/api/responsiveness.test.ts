// The API stays responsive while a 1 GiB memory file compresses: the codec runs in a Worker. A Standby instance
// is made of files alone (state is derived from them), so no VM is needed: its standby memory is a 1 GiB
// VM-like file, a compressed Standby snapshot of it starts a job, and /health is timed meanwhile.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticMemory } from "../../src/store/codecs/synthetic-memory.ts";
import { percentile } from "../../scripts/bench/report.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  await registerFakeImage(svc);
});
afterAll(() => svc.close());

test("p99 of /health while a 1 GiB snapshot memory file compresses", async () => {
  const inst = (await svc.call("POST", "/instances", { name: "big", image: "fake", size: "1GB", overlay_size: "64MB" })).body;
  const standby = join(svc.dataDir, "guests", inst.id, "standby");
  mkdirSync(standby);
  await writeSyntheticMemory(join(standby, "memory"), 1 << 30);
  expect((await svc.call("GET", "/instances/big")).body.state).toBe("Standby");

  const snap = (await svc.call("POST", "/instances/big/snapshots", { kind: "Standby", compression: { enabled: true, algorithm: "zstd", level: 3 } })).body;
  expect(snap.compression_state).toBe("compressing");
  const latencies: number[] = [];
  for (;;) {
    const t = performance.now();
    const health = await svc.call("GET", "/health");
    latencies.push(performance.now() - t);
    expect(health.status).toBe(200);
    if (latencies.length % 20 === 0 && (await svc.call("GET", `/snapshots/${snap.id}`)).body.compression_state !== "compressing") break;
    await Bun.sleep(5);
  }
  const done = (await svc.call("GET", `/snapshots/${snap.id}`)).body;
  expect(done.compression_state).toBe("compressed");
  expect(done.uncompressed_size_bytes).toBe(1 << 30);
  expect(latencies.length).toBeGreaterThan(50); // the loop kept running during the whole job
  console.log(`/health during a 1 GiB zstd-3 job: ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`);
});
