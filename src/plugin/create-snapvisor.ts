// The composition root: builds config, data dir, database, hypervisor drivers and core, and returns the Hono app
// with the service's lifecycle. Used by `snapvisor serve` and by services that embed snapvisor.
import { createId } from "@paralleldrive/cuid2";
import type { Hypervisors } from "../hv/hypervisor.ts";
import { createHypervisors } from "../hv/registry.ts";
import { CoreContext } from "../core/context.ts";
import { jsonLogger, type Logger } from "../core/logger.ts";
import { ScheduleRunner } from "../core/schedule-runner.ts";
import { startCore, stopCore } from "../core/service-lifecycle.ts";
import { openDb } from "../store/db.ts";
import { DataPaths } from "../store/paths.ts";
import { buildApp, type SnapvisorApp } from "./app.ts";
import { loadConfig, serverCompressionDefault, type Config, type ConfigInput } from "./config.ts";

export interface SnapvisorOptions extends ConfigInput {
  /** A config file (JSON or YAML) read before environment and these options. */
  configFile?: string;
  /** Bearer token the app requires; false = no auth (default for embedding: the host app guards its routes). */
  auth?: { token: string } | false;
  /** Replaces the drivers built from the `hypervisors` config (tests, custom VMMs). */
  drivers?: Hypervisors;
  logger?: Logger;
  /** Clock and id generator, for tests. */
  clock?: () => Date;
  newId?: () => string;
}

export interface Snapvisor {
  app: SnapvisorApp;
  config: Config;
  /** Reconciles the data dir, registers the default image, resumes compression jobs, starts the scheduler. */
  start(): Promise<void>;
  /** Stops the scheduler and jobs and puts running VMs into Standby; nothing is left running. */
  stop(): Promise<void>;
  /** Runs every due snapshot schedule now (for embedders that drive schedules themselves); returns the errors. */
  runDueSchedules(): Promise<string[]>;
  /** The domain layer, for tests and advanced embedding. */
  core: CoreContext;
}

export function createSnapvisor(options: SnapvisorOptions = {}): Snapvisor {
  const { auth, drivers, logger: givenLogger, clock, newId, ...configInput } = options;
  const config = loadConfig(configInput);
  const logger = givenLogger ?? jsonLogger(config.logLevel);
  const paths = new DataPaths(config.dataDir);
  paths.ensure();
  const db = openDb(paths.db);
  const host = drivers ? { drivers, supervisor: undefined } : createHypervisors(config.hypervisors, logger);
  const ctx = new CoreContext({
    db,
    paths,
    hypervisors: host.drivers,
    config: {
      stopTimeoutMs: config.timeouts.stopMs,
      agentReadyTimeoutMs: config.timeouts.agentReadyMs,
      execTimeoutMs: config.timeouts.execMs,
      compressionDefault: serverCompressionDefault(config),
      defaultImageDir: config.guestImageDir,
      schedulerTickMs: config.scheduler.enabled ? config.scheduler.tickSeconds * 1000 : undefined,
    },
    logger,
    clock: clock ?? (() => new Date()),
    newId: newId ?? createId,
  });
  const app = buildApp(ctx, { authToken: auth ? auth.token : undefined });
  let running = false;
  const runner = ctx.scheduler ?? new ScheduleRunner(ctx, 0);
  return {
    app,
    config,
    core: ctx,
    runDueSchedules: () => runner.runDue(),
    async start() {
      if (running) return;
      await startCore(ctx);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      await stopCore(ctx);
      await host.supervisor?.killAll(); // a VMM that could not be put into Standby
      db.$client.close();
    },
  };
}
