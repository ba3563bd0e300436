// POST/GET/DELETE /ingresses (reference-network §3): rules are validated, literal targets must exist, and no two
// rules (of any ingress) may claim the same hostname, port and path prefix. The router reads the table afresh
// after each change.
import type { IngressRow } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { conflict, invalidRequest, notFound } from "../errors.ts";
import { resolveInstance } from "../instances/view.ts";
import { isSafeId, MAX_NAME_LENGTH, NAME_PATTERN } from "../../store/paths.ts";
import { normalizeRule, routeKey, type IngressRuleInput } from "./rules.ts";

export interface CreateIngressInput {
  name: string;
  tags: Record<string, string>;
  rules: IngressRuleInput[];
}

export function createIngress(ctx: CoreContext, input: CreateIngressInput): IngressRow {
  if (input.name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(input.name)) {
    throw invalidRequest("name: must be lowercase letters, digits and dashes, at most 63 characters");
  }
  if (input.rules.length === 0) throw invalidRequest("rules: at least one rule is required");
  const rules = input.rules.map(normalizeRule);
  rules.forEach((rule, i) => {
    if (rule.tls && !ctx.config.ingressTls) {
      throw invalidRequest(`rules[${i}].tls: no TLS listener is configured (ingress.tls with cert, key and listen)`, "tls_not_configured");
    }
    if (!rule.target.instance.startsWith("{")) {
      try {
        resolveInstance(ctx, rule.target.instance);
      } catch {
        throw invalidRequest(`rules[${i}].target.instance: instance ${JSON.stringify(rule.target.instance)} not found`, "instance_not_found");
      }
    }
  });
  if (ctx.ingresses.byName(input.name)) throw conflict(`ingress ${input.name} already exists`, "already_exists");
  const taken = new Set(ctx.ingresses.all().flatMap((g) => g.rules.map(routeKey)));
  for (const rule of rules) {
    const key = routeKey(rule);
    if (taken.has(key)) throw conflict(`hostname ${rule.match.hostname} on port ${rule.match.port} (path ${rule.match.pathPrefix}) is already in use`, "hostname_in_use");
    taken.add(key);
  }
  const row: IngressRow = { id: ctx.newId(), name: input.name, tags: input.tags, rules, createdAt: ctx.clock() };
  ctx.ingresses.insert(row);
  return row;
}

/** At start-up: rules kept from a configuration that had a TLS listener answer 403 tls_required until one is
 * configured again; say so once, naming them. */
export function warnTlsRulesWithoutListener(ctx: CoreContext): void {
  if (ctx.config.ingressTls) return;
  const needing = ctx.ingresses.all().filter((g) => g.rules.some((r) => r.tls)).map((g) => g.name);
  if (needing.length > 0) {
    ctx.logger.warn("ingress rules require TLS but no TLS listener is configured (ingress.tls); they answer 403 tls_required", { ingresses: needing });
  }
}

/** Id, then name, then unique id prefix; ambiguous → 409. */
export function resolveIngress(ctx: CoreContext, ref: string): IngressRow {
  const row = ctx.ingresses.get(ref) ?? ctx.ingresses.byName(ref);
  if (row) return row;
  if (isSafeId(ref)) {
    const ids = ctx.ingresses.idsWithPrefix(ref);
    if (ids.length > 1) throw conflict(`ingress reference ${JSON.stringify(ref)} is ambiguous`, "ambiguous_name");
    const hit = ids[0] === undefined ? undefined : ctx.ingresses.get(ids[0]);
    if (hit) return hit;
  }
  throw notFound("ingress not found");
}

/** Every ingress whose tags include all of `tags`, oldest first. */
export function listIngresses(ctx: CoreContext, tags: Record<string, string> = {}): IngressRow[] {
  return ctx.ingresses.all().filter((g) => Object.entries(tags).every(([k, v]) => g.tags[k] === v));
}

export function deleteIngress(ctx: CoreContext, ref: string): void {
  ctx.ingresses.delete(resolveIngress(ctx, ref).id);
}
