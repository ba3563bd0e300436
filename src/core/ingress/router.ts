// Which rule a request matches: by listener port and Host (a literal hostname beats a pattern), then the longest
// path prefix. The table is rebuilt whenever the ingresses change.
import type { IngressRuleRecord } from "../../store/schema.ts";
import type { CoreContext } from "../service/context.ts";
import { resolveInstance } from "../instances/view.ts";
import { matchHostname, parseHostname, type HostnamePattern } from "./hostname-pattern.ts";
import { pathUnder } from "./rules.ts";

export interface RouteMatch {
  rule: IngressRuleRecord;
  /** The target instance's id, or undefined when it does not exist (now). */
  instanceId: string | undefined;
  instanceRef: string;
}

interface CompiledRule {
  rule: IngressRuleRecord;
  pattern: HostnamePattern;
}

export class IngressRouter {
  private generation = -1;
  private table: CompiledRule[] = [];

  constructor(private readonly ctx: CoreContext) {}

  /** `host` as the Host header gives it (port and case ignored). */
  match(host: string, port: number, path: string): RouteMatch | undefined {
    const name = host.replace(/:\d+$/, "").replace(/\.$/, "").toLowerCase();
    let best: { compiled: CompiledRule; captures: Record<string, string> } | undefined;
    for (const compiled of this.rules()) {
      const { match } = compiled.rule;
      if (match.port !== port || !pathUnder(match.pathPrefix, path)) continue;
      const captures = matchHostname(compiled.pattern, name);
      if (captures && (!best || beats(compiled, best.compiled))) best = { compiled, captures };
    }
    if (!best) return undefined;
    const { rule } = best.compiled;
    const instanceRef = rule.target.instance.replace(/^\{(.+)\}$/, (_, capture: string) => best.captures[capture] ?? "");
    return { rule, instanceId: this.instanceId(rule, instanceRef), instanceRef };
  }

  /** A captured label names an instance exactly (never an id prefix); a literal target resolves as the API does. */
  private instanceId(rule: IngressRuleRecord, ref: string): string | undefined {
    if (rule.target.instance.startsWith("{")) {
      const row = this.ctx.instances.byName(ref);
      return row?.rowState === "ready" ? row.id : undefined;
    }
    try {
      return resolveInstance(this.ctx, ref).id;
    } catch {
      return undefined;
    }
  }

  private rules(): CompiledRule[] {
    if (this.generation !== this.ctx.ingresses.generation) {
      this.generation = this.ctx.ingresses.generation;
      this.table = this.ctx.ingresses.all().flatMap((g) => g.rules.map((rule) => ({ rule, pattern: parseHostname(rule.match.hostname, "hostname") })));
    }
    return this.table;
  }
}

/** A literal hostname beats a pattern; then the longer path prefix wins. */
function beats(a: CompiledRule, b: CompiledRule): boolean {
  const literalA = "literal" in a.pattern;
  const literalB = "literal" in b.pattern;
  if (literalA !== literalB) return literalA;
  return a.rule.match.pathPrefix.length > b.rule.match.pathPrefix.length;
}
