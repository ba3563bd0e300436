import { expect, test } from "bun:test";
import { Metrics } from "./metrics.ts";

test("every metric, ours and the process defaults, carries the snapvisor_ prefix", async () => {
  const metrics = new Metrics();
  metrics.compressionJobs.inc({ hypervisor: "qemu", algorithm: "zstd", source: "snapshot", result: "success" });
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  expect(names).toContain("snapvisor_snapshot_compression_jobs_total");
  expect(names).toContain("snapvisor_http_requests_total");
  expect(names.filter((name) => !name.startsWith("snapvisor_"))).toEqual([]);
});

test("timed records the operation's result and rethrows its error", async () => {
  const metrics = new Metrics();
  expect(await metrics.timed("standby", "qemu", async () => 7)).toBe(7);
  await expect(metrics.timed("standby", "qemu", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  const text = await metrics.registry.getSingleMetricAsString("snapvisor_lifecycle_duration_seconds");
  expect(text).toContain('snapvisor_lifecycle_duration_seconds_count{operation="standby",hypervisor="qemu",result="success"} 1');
  expect(text).toContain('snapvisor_lifecycle_duration_seconds_count{operation="standby",hypervisor="qemu",result="failed"} 1');
});
