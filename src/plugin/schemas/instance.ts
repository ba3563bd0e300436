// Instance requests and responses (reference §3, product.md §3).
import { z } from "@hono/zod-openapi";
import { MAX_VCPUS } from "../../core/instances/create.ts";
import { INSTANCE_STATES } from "../../core/instances/state-machine.ts";
import { CompressionConfigSchema, GoDurationSchema, HypervisorSchema, NameSchema, TagsSchema, TargetStateSchema } from "./common.ts";
import { EnvSchema } from "./env.ts";
import { InstanceNetworkSchema, NetworkRequestSchema } from "./network.ts";
import { MailboxesSchema } from "./mailbox.ts";
import { AutoStandbyPolicySchema } from "./auto-standby.ts";

/** A human size ("512MB"); parsed by the handler (wire/byte-size.ts), only bounded here. */
const SizeStringSchema = z.string().max(32, "must be a size such as 512MB or 1GB");

export const SnapshotPolicySchema = z
  .object({
    compression: CompressionConfigSchema.optional(),
    standby_compression_delay: GoDurationSchema.optional(),
  })
  .strict()
  .openapi("SnapshotPolicy");

export const CreateInstanceSchema = z
  .object({
    name: NameSchema,
    image: NameSchema.default("default"),
    size: SizeStringSchema.default("512MB").openapi({
      description: "guest memory, e.g. 512MB, 1GB; at least 128MB and at most the host's memory",
    }),
    overlay_size: SizeStringSchema.default("1GB").openapi({
      description: "writable disk size, e.g. 1GB; at least the image's disk and at most the data dir's free space",
    }),
    vcpus: z
      .number()
      .int()
      .min(1)
      .max(MAX_VCPUS)
      .default(1)
      .openapi({ description: `1 to ${MAX_VCPUS}; more than the host's CPUs is allowed (overcommit), like QEMU` }),
    hypervisor: HypervisorSchema.default("qemu"),
    env: EnvSchema.default({}),
    volumes: z.array(z.unknown()).default([]),
    tags: TagsSchema.default({}),
    snapshot_policy: SnapshotPolicySchema.optional(),
    skip_guest_agent: z.boolean().default(false),
    network: NetworkRequestSchema.default({}),
    auto_standby: AutoStandbyPolicySchema.optional(),
  })
  .strict()
  .openapi("CreateInstanceRequest");

export const InstanceMemorySchema = z
  .object({
    backing: z.enum(["file", "stream"]).openapi({
      description: "file: the guest's RAM is a file mapped by the VMM (its own, or a snapshot's copy-on-write); stream: loaded into the VMM's anonymous memory",
    }),
    shared_with_snapshot: z.string().nullable().openapi({
      description: "the snapshot whose memory file the RAM maps copy-on-write (pages the guest has not written are shared with it and its other forks); null when the RAM is the instance's own",
    }),
    private_bytes: z.number().int().nullable().openapi({
      description: "Private_Clean + Private_Dirty of the VMM process (/proc/<pid>/smaps_rollup): memory mapped by this VMM alone, what ending it gives back; null when unreadable",
    }),
  })
  .openapi("InstanceMemory");

export const InstanceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    image: z.string(),
    state: z.enum(INSTANCE_STATES),
    state_error: z.string().nullable(),
    size: z.string(),
    overlay_size: z.string(),
    vcpus: z.number().int(),
    env: z.record(z.string(), z.string()),
    volumes: z.array(z.unknown()),
    created_at: z.string().datetime(),
    started_at: z.string().datetime().nullable(),
    stopped_at: z.string().datetime().nullable(),
    has_snapshot: z.boolean(),
    hypervisor: HypervisorSchema,
    tags: z.record(z.string(), z.string()),
    snapshot_policy: SnapshotPolicySchema.nullable(),
    fork_of_snapshot: z.string().nullable(),
    network: InstanceNetworkSchema,
    auto_standby: AutoStandbyPolicySchema.nullable(),
    memory: InstanceMemorySchema.nullable().openapi({ description: "how the guest's memory is held while its VMM runs; null otherwise" }),
  })
  .openapi("Instance");

/** start, stop and restore take no options: their body may be absent, empty or `{}`, and any field in it is
 * unknown (a 400 naming it) rather than silently ignored. */
export const NoOptionsSchema = z.object({}).strict().openapi("NoOptionsRequest");

export const StandbySchema = z
  .object({
    compression: CompressionConfigSchema.optional(),
    compression_delay: GoDurationSchema.optional(),
  })
  .strict()
  .openapi("StandbyInstanceRequest");

export const ForkInstanceSchema = z
  .object({
    name: NameSchema,
    from_running: z.boolean().default(false),
    target_state: TargetStateSchema.optional(),
    mailboxes: MailboxesSchema,
  })
  .strict()
  .openapi("ForkInstanceRequest");

export const ExecSchema = z
  .object({
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]).openapi({ example: ["echo", "hello"] }),
    timeout_ms: z.number().int().min(1).max(3_600_000).optional(),
  })
  .strict()
  .openapi("ExecRequest");

export const ExecResultSchema = z
  .object({
    exit_code: z.number().int(),
    stdout: z.string(),
    stderr: z.string(),
    stdout_truncated: z.boolean().openapi({ description: "stdout was longer than the server's output limit: this is its beginning" }),
    stderr_truncated: z.boolean(),
  })
  .openapi("ExecResult");

export const LogsQuerySchema = z.object({
  lines: z.coerce.number().int().min(1).max(100_000).default(100),
});
