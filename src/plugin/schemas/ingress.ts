// Ingress requests and responses (reference-network §3), with our `match.path_prefix` and `wake_stopped`.
import { z } from "@hono/zod-openapi";
import { NameSchema, TagsSchema } from "./common.ts";

const PortSchema = z.number().int().min(1).max(65535);

export const IngressRuleSchema = z
  .object({
    match: z
      .object({
        hostname: z.string().min(1).max(253).openapi({ example: "{instance}.apps.example.com" }),
        port: PortSchema.optional().openapi({ description: "the ingress listener port; default 80" }),
        path_prefix: z.string().max(1024).optional().openapi({ description: "only requests under this path (segment boundary); default /" }),
      })
      .strict(),
    target: z.object({ instance: z.string().min(1).max(128), port: PortSchema }).strict(),
    tls: z.boolean().optional(),
    redirect_http: z.boolean().optional(),
    request_header_auth: z.object({ header: z.string().max(64), value: z.string().max(256) }).strict().optional(),
    wake_stopped: z.boolean().optional().openapi({ description: "cold-boot a Stopped target on a request instead of answering 503" }),
  })
  .strict()
  .openapi("IngressRule");

export const CreateIngressSchema = z
  .object({ name: NameSchema, rules: z.array(IngressRuleSchema).min(1).max(64), tags: TagsSchema.optional() })
  .strict()
  .openapi("CreateIngressRequest");

const IngressRuleResponseSchema = z.object({
  match: z.object({ hostname: z.string(), port: z.number().int(), path_prefix: z.string() }),
  target: z.object({ instance: z.string(), port: z.number().int() }),
  tls: z.boolean(),
  redirect_http: z.boolean(),
  request_header_auth: z.object({ header: z.string() }).optional().openapi({ description: "the secret value is never returned" }),
  wake_stopped: z.boolean(),
});

export const IngressSchema = z
  .object({ id: z.string(), name: z.string(), tags: z.record(z.string(), z.string()), rules: z.array(IngressRuleResponseSchema), created_at: z.string() })
  .openapi("Ingress");

export const IngressListQuerySchema = z.object({
  tags: z.record(z.string(), z.string()).optional().openapi({ description: "tags[k]=v filters (all must match)" }),
});
