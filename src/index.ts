// The package's public surface for services that embed snapvisor or talk to it.
export { createSnapvisor, type Snapvisor, type SnapvisorOptions } from "./plugin/create-snapvisor.ts";
export { serve, type Listener } from "./plugin/server.ts";
export {
  SnapvisorClient,
  SnapvisorApiError,
  type ClientOptions,
  type ExecResult,
  type Image,
  type Instance,
  type Snapshot,
  type SnapshotSchedule,
} from "./plugin/client.ts";
export type { Config, ConfigInput } from "./plugin/config.ts";
export type { Logger } from "./core/service/logger.ts";
export type { Hypervisor, Hypervisors, Capabilities } from "./hv/hypervisor.ts";
