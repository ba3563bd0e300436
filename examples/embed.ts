// Embedding snapvisor in another Bun service: its API under /vm of the service's own Hono app, started and
// stopped with the service. Run: VM_TOKEN=<secret, 16+ characters> bun examples/embed.ts
// (PORT, HOST and DATA_DIR are optional). Without VM_TOKEN it refuses to start: there is no default token.
import { Hono } from "hono";
import { createSnapvisor } from "../src/index.ts";

// An unset VM_TOKEN reaches createSnapvisor as `{ token: undefined }`, which it refuses with how to set one.
const sv = createSnapvisor({ dataDir: process.env.DATA_DIR ?? "./data-embed", auth: { token: process.env.VM_TOKEN! } });

const app = new Hono();
app.get("/", (c) => c.text("my service; VMs live under /vm\n"));
app.route("/vm", sv.app);

await sv.start();
// Loopback unless HOST says otherwise: exposing the VM API to a network is a deliberate choice.
const hostname = process.env.HOST ?? "127.0.0.1";
const server = Bun.serve({ hostname, port: Number(process.env.PORT ?? 8080), fetch: app.fetch, idleTimeout: 0 });
console.log(`listening on http://${server.hostname}:${server.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await server.stop();
    await sv.stop(); // live VMs go to Standby: nothing keeps running, nothing is lost
    process.exit(0);
  });
}
