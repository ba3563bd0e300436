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
/** `sv.ingress`: mount `fetch` and `websocket` in an own Bun.serve to serve guests (and wake Standby ones). */
export type { IngressHandler } from "./plugin/ingress/proxy.ts";
export type { Logger } from "./core/service/logger.ts";
export type { Hypervisor, Hypervisors, Capabilities } from "./hv/hypervisor.ts";
