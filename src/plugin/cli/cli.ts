// Command-line entry: `snapvisor serve [--data-dir D] [--listen L] [--config F]`.
import { parseArgs } from "node:util";
import { serve } from "../server.ts";

const USAGE = `usage: snapvisor serve [--data-dir DIR] [--listen unix:PATH|HOST:PORT] [--config FILE]`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "serve") return runServe(rest);
  console.error(USAGE);
  return command === undefined || command === "help" || command === "--help" ? 0 : 2;
}

async function runServe(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { "data-dir": { type: "string" }, listen: { type: "string" }, config: { type: "string" } },
  });
  const listener = await serve({
    ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
    ...(values.listen ? { listen: values.listen } : {}),
    ...(values.config ? { configFile: values.config } : {}),
  });
  console.error(`snapvisor listening on ${listener.address}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
  await promise;
  console.error("snapvisor stopping: live VMs go to Standby");
  await listener.stop();
  return 0;
}
