// Ingress rules between the wire (snake_case) and core; a rule's header-auth secret is never sent back.
import type { z } from "@hono/zod-openapi";
import type { IngressRuleInput } from "../../core/ingress/rules.ts";
import type { IngressRow } from "../../store/schema.ts";
import type { IngressRuleSchema, IngressSchema } from "../schemas/ingress.ts";

export function ruleFromWire(r: z.infer<typeof IngressRuleSchema>): IngressRuleInput {
  return {
    match: { hostname: r.match.hostname, port: r.match.port, pathPrefix: r.match.path_prefix },
    target: r.target,
    tls: r.tls,
    redirectHttp: r.redirect_http,
    requestHeaderAuth: r.request_header_auth,
    wakeStopped: r.wake_stopped,
  };
}

export function ingressToWire(g: IngressRow): z.infer<typeof IngressSchema> {
  return {
    id: g.id,
    name: g.name,
    tags: g.tags,
    rules: g.rules.map((r) => ({
      match: { hostname: r.match.hostname, port: r.match.port, path_prefix: r.match.pathPrefix },
      target: r.target,
      tls: r.tls,
      redirect_http: r.redirectHttp,
      ...(r.requestHeaderAuth ? { request_header_auth: { header: r.requestHeaderAuth.header } } : {}),
      wake_stopped: r.wakeStopped,
    })),
    created_at: g.createdAt.toISOString(),
  };
}
