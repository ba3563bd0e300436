// The composition root: builds config, data dir, database, hypervisor drivers and every core service exactly once,
// and returns the Hono app with the service's lifecycle. Used by `snapvisor serve` and by services that embed
// snapvisor.
import { createId } from "@paralleldrive/cuid2";
import type { Hypervisors } from "../hv/hypervisor.ts";
import { createHypervisors } from "../hv/registry.ts";
import { CompressionJobs } from "../core/compression/compression-jobs.ts";
import { ManifestJobs } from "../core/snapshots/manifest-jobs.ts";
import { VmRegistry } from "../core/instances/vm-registry.ts";
import { ScheduleRunner } from "../core/schedules/schedule-runner.ts";
import type { CoreContext } from "../core/service/context.ts";
import { linuxHostResources, type HostResources } from "../core/service/host-resources.ts";
import { hypervisorFor } from "../core/service/hypervisor-lookup.ts";
import { startCore, stopCore } from "../core/service/lifecycle.ts";
import { KeyedMutex } from "../core/service/locks.ts";
import { jsonLogger, type Logger } from "../core/service/logger.ts";
import { Metrics } from "../core/service/metrics.ts";
import { openDb } from "../store/db.ts";
import { ImagesRepo } from "../store/images-repo.ts";
import { InstancesRepo } from "../store/instances-repo.ts";
import { JobsRepo } from "../store/jobs-repo.ts";
import { TransferJobsRepo } from "../store/transfer-jobs-repo.ts";
import { TransferJobs } from "../core/snapshots/transfer-jobs.ts";
import { runTransfer } from "../core/snapshots/transfer-run.ts";
import { DataPaths } from "../store/paths.ts";
import { SchedulesRepo } from "../store/schedules-repo.ts";
import { SnapshotsRepo } from "../store/snapshots-repo.ts";
import { NetworkRepo } from "../store/network-repo.ts";
import { IngressesRepo } from "../store/ingresses-repo.ts";
import { ActivityTracker } from "../core/ingress/activity.ts";
import { IngressRouter } from "../core/ingress/router.ts";
import { AutoStandbyState } from "../core/ingress/auto-standby-state.ts";
import { startAutoStandby } from "../core/ingress/auto-standby.ts";
import { WakeCoordinator } from "../core/ingress/wake.ts";
import { warnTlsRulesWithoutListener } from "../core/ingress/ingresses.ts";
import { ingressHandler, type IngressHandler } from "./ingress/proxy.ts";
import { startIngressListeners } from "./ingress/listener.ts";
import { LinuxBridge } from "../core/network/linux-bridge.ts";
import { hostCommands } from "../core/network/host-commands.ts";
import { buildApp, type SnapvisorApp } from "./app.ts";
import { requiredToken, type AuthOption } from "./auth.ts";
import { loadConfig, remoteTargets, serverCompressionDefault, type Config, type ConfigInput } from "./config.ts";
import { ConsoleLogRotation } from "../core/service/console-log-rotation.ts";

/** What is wired rather than configured: auth, and the seams tests and custom hosts replace. */
export interface SnapvisorWiring {
  /** Required, no default: `{ token }` (at least 16 characters) makes every route but /health, /docs and
   * /openapi.json need `Authorization: Bearer <token>`; `false` serves without auth, for a host app that
   * authenticates every request itself. A missing or blank token refuses to start, never means "no auth". */
  auth: AuthOption;
  /** Replaces the drivers built from the `hypervisors` config (tests, custom VMMs). */
  drivers?: Hypervisors;
  /** Replaces the probe of host memory and free disk (tests that play a small or full host). */
  hostResources?: HostResources;
  logger?: Logger;
  /** Clock and id generator, for tests. */
  clock?: () => Date;
  newId?: () => string;
  randomBytes?: (n: number) => Uint8Array;
}

export interface SnapvisorOptions extends ConfigInput, SnapvisorWiring {
  /** A config file (JSON or YAML) read before environment and these options. */
  configFile?: string;
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
  /** The ingress proxy: mount `ingress.fetch` and `ingress.websocket` in an own Bun.serve, or configure
   * `ingress.listen` and let start() open the listeners. */
  ingress: IngressHandler;
  /** The domain layer, for tests and advanced embedding. */
  core: CoreContext;
}

export function createSnapvisor(options: SnapvisorOptions): Snapvisor {
  const { auth, drivers, hostResources, logger, clock, newId, randomBytes, ...configInput } = options;
  return snapvisorFromConfig(loadConfig(configInput), { auth, drivers, hostResources, logger, clock, newId, randomBytes });
}

/** The composition itself, from a config already loaded (`serve` loads it once to pick its listener). */
export function snapvisorFromConfig(config: Config, wiring: SnapvisorWiring): Snapvisor {
  const authToken = requiredToken(wiring.auth); // before anything touches the data dir
  const logger = wiring.logger ?? jsonLogger(config.logLevel);
  const clock = wiring.clock ?? (() => new Date());
  const paths = new DataPaths(config.dataDir);
  paths.ensure();
  const db = openDb(paths.db);
  const host = wiring.drivers ? { drivers: wiring.drivers, supervisor: undefined } : createHypervisors(config.hypervisors, logger);
  const instances = new InstancesRepo(db);
  const snapshots = new SnapshotsRepo(db);
  const images = new ImagesRepo(db);
  const metrics = new Metrics();
  const locks = new KeyedMutex();
  const ctx: CoreContext = {
    paths,
    hypervisors: host.drivers,
    config: {
      stopTimeoutMs: config.timeouts.stopMs,
      agentReadyTimeoutMs: config.timeouts.agentReadyMs,
      execTimeoutMs: config.timeouts.execMs,
      execOutputLimitBytes: config.agent.execOutputLimitBytes,
      fileCopyMaxBytes: config.agent.fileCopyMaxBytes,
      consoleLogMaxBytes: config.agent.consoleLogMaxBytes,
      compressionDefault: serverCompressionDefault(config),
      defaultImageDir: config.guestImageDir,
      imageRoots: config.imageRoots,
      network: config.network,
      ingressTls: config.ingress.tls !== undefined,
      remotes: remoteTargets(config),
    },
    logger,
    clock,
    newId: wiring.newId ?? createId,
    instances,
    snapshots,
    images,
    schedules: new SchedulesRepo(db),
    locks,
    vms: new VmRegistry(instances, clock, logger),
    metrics,
    compression: new CompressionJobs({
      jobs: new JobsRepo(db),
      snapshots,
      hypervisorMemoryFile: (type) => hypervisorFor(ctx, type).memoryFile,
      metrics,
      logger,
      clock,
    }),
    manifests: new ManifestJobs({ paths, snapshots, images, logger, clock, idle: () => locks.idle }),
    transfers: new TransferJobs({
      repo: new TransferJobsRepo(db),
      logger,
      clock,
      newId: () => ctx.newId(),
      run: (job, report, signal) => runTransfer(ctx, job, report, signal),
    }),
    host: wiring.hostResources ?? linuxHostResources,
    networkLeases: new NetworkRepo(db),
    ingresses: new IngressesRepo(db),
    activity: new ActivityTracker(clock),
    autoStandby: new AutoStandbyState(config.autoStandby),
    // Only an explicit bridge-mode config builds anything that changes host interfaces.
    ...(config.network.mode === "bridge" ? { bridge: new LinuxBridge(config.network, hostCommands(logger)) } : {}),
    randomBytes: wiring.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n))),
  };
  metrics.watchVmms(() => ctx.vms.ids().flatMap((id) => ctx.vms.get(id)?.vm.pid ?? []));
  const scheduler = new ScheduleRunner(ctx, config.scheduler.tickSeconds * 1000);
  const loop = config.scheduler.enabled ? scheduler : undefined;
  const app = buildApp(ctx, { authToken });
  const consoleLogs = new ConsoleLogRotation(ctx, config.agent.consoleLogMaxBytes);
  const ingress = ingressHandler({ ctx, router: new IngressRouter(ctx), wake: new WakeCoordinator(ctx, config.ingress), config: config.ingress });
  let ingressListeners: ReturnType<typeof startIngressListeners> = [];
  let stopAutoStandby = async () => {};
  let running = false;
  return {
    app,
    config,
    core: ctx,
    ingress,
    runDueSchedules: () => scheduler.runDue(),
    async start() {
      if (running) return;
      await startCore(ctx, loop);
      consoleLogs.start();
      ingressListeners = startIngressListeners(config.ingress, ingress);
      warnTlsRulesWithoutListener(ctx);
      stopAutoStandby = startAutoStandby(ctx);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      for (const listener of ingressListeners) await listener.stop(true);
      ingressListeners = [];
      await stopAutoStandby();
      await consoleLogs.stop();
      await stopCore(ctx, loop);
      await host.supervisor?.killAll(); // a VMM that could not be put into Standby
      db.$client.close();
    },
  };
}
