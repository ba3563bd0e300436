// Domain objects → wire shapes (snake_case, Go durations, human sizes). The shapes are the zod schemas' types.
import type { z } from "@hono/zod-openapi";
import { formatByteSize } from "./byte-size.ts";
import type { SnapshotPolicy } from "../../core/compression/compression-policy.ts";
import { formatGoDuration } from "./go-duration.ts";
import { formatBandwidth } from "./bandwidth.ts";
import { autoStandbyToWire } from "./auto-standby.ts";
import type { NetworkView } from "../../core/network/network-view.ts";
import type { InstanceNetworkSchema } from "../schemas/network.ts";
import type { InstanceView } from "../../core/instances/view.ts";
import type { SnapshotView } from "../../core/snapshots/view.ts";
import type { InstanceMemorySchema, InstanceSchema, SnapshotPolicySchema } from "../schemas/instance.ts";
import type { MemoryView } from "../../core/instances/memory-view.ts";
import type { SnapshotSchema } from "../schemas/snapshot.ts";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function policyToWire(policy: SnapshotPolicy | null): z.infer<typeof SnapshotPolicySchema> | null {
  if (!policy) return null;
  return {
    ...(policy.compression ? { compression: policy.compression } : {}),
    ...(policy.standbyCompressionDelayMs !== undefined
      ? { standby_compression_delay: formatGoDuration(policy.standbyCompressionDelayMs) }
      : {}),
  };
}

export function instanceToWire(v: InstanceView): z.infer<typeof InstanceSchema> {
  return {
    id: v.id,
    name: v.name,
    image: v.image,
    state: v.state,
    state_error: v.stateError,
    size: formatByteSize(v.memoryBytes),
    overlay_size: formatByteSize(v.overlayBytes),
    vcpus: v.vcpus,
    env: v.env,
    volumes: [],
    created_at: v.createdAt.toISOString(),
    started_at: iso(v.startedAt),
    stopped_at: iso(v.stoppedAt),
    has_snapshot: v.hasSnapshot,
    hypervisor: v.hypervisor as z.infer<typeof InstanceSchema>["hypervisor"],
    tags: v.tags,
    snapshot_policy: policyToWire(v.snapshotPolicy),
    fork_of_snapshot: v.forkOfSnapshot,
    network: networkToWire(v.network),
    auto_standby: v.autoStandby ? autoStandbyToWire(v.autoStandby) : null,
    memory: v.memory && memoryToWire(v.memory),
  };
}

export function memoryToWire(m: MemoryView): z.infer<typeof InstanceMemorySchema> {
  return { backing: m.backing, shared_with_snapshot: m.sharedWithSnapshot, private_bytes: m.privateBytes };
}

/** Reference shape: name/ip/mac only when enabled (ip/mac while the VM holds its lease), bandwidths only when set. */
export function networkToWire(n: NetworkView): z.infer<typeof InstanceNetworkSchema> {
  return {
    enabled: n.enabled,
    ...(n.enabled ? { name: "default" } : {}),
    ...(n.ip ? { ip: n.ip } : {}),
    ...(n.mac ? { mac: n.mac } : {}),
    ...(n.downloadBytesPerSec > 0 ? { bandwidth_download: formatBandwidth(n.downloadBytesPerSec) } : {}),
    ...(n.uploadBytesPerSec > 0 ? { bandwidth_upload: formatBandwidth(n.uploadBytesPerSec) } : {}),
    port_forwards: n.forwards.map((f) => ({ guest_port: f.guestPort, host: `127.0.0.1:${f.hostPort}` })),
  };
}

export function snapshotToWire(s: SnapshotView): z.infer<typeof SnapshotSchema> {
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    tags: s.tags,
    source_instance_id: s.sourceInstanceId,
    source_instance_name: s.sourceInstanceName,
    source_hypervisor: s.sourceHypervisor as z.infer<typeof SnapshotSchema>["source_hypervisor"],
    created_at: s.createdAt.toISOString(),
    size_bytes: s.sizeBytes,
    allocated_bytes: s.allocatedBytes,
    compression_state: s.compressionState,
    compression_error: s.compressionError,
    compression: s.compression,
    compressed_size_bytes: s.compressedSizeBytes,
    uncompressed_size_bytes: s.uncompressedSizeBytes,
    ref_count: s.refCount,
    origin: s.origin,
    schedule_id: s.scheduleId,
    pinned: s.pinned,
  };
}
