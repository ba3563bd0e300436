// Embedding snapvisor in another Bun service: its API under /vm of the service's own Hono app, started and
// stopped with the service. Run: bun examples/embed.ts  (PORT, DATA_DIR and VM_TOKEN are optional).
import { Hono } from "hono";
import { createSnapvisor } from "../src/index.ts";

const token = process.env.VM_TOKEN ?? "change-me-please-0123456789";
const sv = createSnapvisor({ dataDir: process.env.DATA_DIR ?? "./data-embed", auth: { token } });

const app = new Hono();
app.get("/", (c) => c.text("my service; VMs live under /vm\n"));
app.route("/vm", sv.app);

await sv.start();
const server = Bun.serve({ port: Number(process.env.PORT ?? 8080), fetch: app.fetch, idleTimeout: 0 });
console.log(`listening on http://${server.hostname}:${server.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await server.stop();
    await sv.stop(); // live VMs go to Standby: nothing keeps running, nothing is lost
    process.exit(0);
  });
}
