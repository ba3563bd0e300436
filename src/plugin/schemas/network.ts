// The `network` object of instance requests and responses (reference-network §1.1), and GET /capabilities.
import { z } from "@hono/zod-openapi";

const BandwidthStringSchema = z.string().max(32).openapi({ description: "a bit rate (1Gbps, 100Mbps) or a byte rate (125MB/s); 0 or absent: no limit" });

export const NetworkRequestSchema = z
  .object({
    enabled: z.boolean().optional().openapi({ description: "default true where the hypervisor can attach the server's network mode" }),
    bandwidth_download: BandwidthStringSchema.optional(),
    bandwidth_upload: BandwidthStringSchema.optional(),
    port_forwards: z
      .array(z.object({ guest_port: z.number().int().min(1).max(65535) }).strict())
      .max(32)
      .refine((list) => new Set(list.map((f) => f.guest_port)).size === list.length, "guest ports must be distinct")
      .optional()
      .openapi({ description: "user mode: guest TCP ports to reach through host loopback; the host ports are allocated and reported" }),
  })
  .strict()
  .openapi("InstanceNetworkRequest");

export const InstanceNetworkSchema = z
  .object({
    enabled: z.boolean(),
    name: z.string().optional(),
    ip: z.string().optional(),
    mac: z.string().optional(),
    bandwidth_download: z.string().optional(),
    bandwidth_upload: z.string().optional(),
    port_forwards: z.array(z.object({ guest_port: z.number().int(), host: z.string() })),
  })
  .openapi("InstanceNetwork");

export const CapabilitiesSchema = z
  .object({
    network: z.object({
      mode: z.enum(["user", "bridge"]),
      model: z.enum(["bridge", "nat"]),
      gateway: z.string().optional(),
      subnet: z.string().optional(),
      guest_to_guest: z.boolean(),
      port_forwards: z.boolean(),
      hypervisors: z.array(z.string()).openapi({ description: "hypervisors on this host that can attach this mode" }),
    }),
  })
  .openapi("Capabilities");
