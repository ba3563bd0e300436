// The ingress proxy: one fetch handler (and its WebSocket handlers) for Bun.serve. It matches a rule, checks the
// rule's header auth, holds the request while core wakes a Standby target, then streams the request and the
// response through. Every request and every WebSocket counts as activity of its instance while it lasts.
import { timingSafeEqual } from "node:crypto";
import type { Server } from "bun";
import { DomainError } from "../../core/errors.ts";
import type { CoreContext } from "../../core/service/context.ts";
import type { IngressRouter } from "../../core/ingress/router.ts";
import type { WakeCoordinator, WakeTarget } from "../../core/ingress/wake.ts";
import type { IngressRuleRecord } from "../../store/schema.ts";
import { domainErrorResponse } from "../errors.ts";
import { countsAsActivity } from "../../core/ingress/auto-standby-policy.ts";
import { upstreamRequestHeaders, withoutHopByHop } from "./forward-headers.ts";
import { socketBridge, type SocketData } from "./websocket-bridge.ts";
import { UpstreamSessions } from "./upstream-sessions.ts";
import { attemptFailure, maySendAgain } from "./retry-policy.ts";

/** An attempt that failed before any response (the guest went to standby under us, say) is tried again via wake
 * when retry-policy.ts allows it, this many attempts in all. */
const UPSTREAM_ATTEMPTS = 3;
/** Bodies of a known length up to this are read first, so a failed attempt can be sent again; longer or chunked
 * ones stream through (and are not retried). */
const REPLAYABLE_BODY_MAX = 1024 * 1024;

/** Responses of a known length up to this are read whole and sent on as one buffer: cheaper than passing each
 * chunk through a stream (the warm overhead), and the request's activity ends as soon as it is read. */
const BUFFERED_RESPONSE_MAX = 64 * 1024;

/** No answer started within the header timeout, and the request may not be sent again. */
class UpstreamTimeout extends Error {}

async function replayableBody(req: Request): Promise<ArrayBuffer | ReadableStream<Uint8Array> | null> {
  if (req.body === null) return null;
  const length = Number(req.headers.get("content-length") ?? Number.NaN);
  return length <= REPLAYABLE_BODY_MAX ? await req.arrayBuffer() : req.body;
}

export interface IngressProxyDeps {
  ctx: CoreContext;
  router: IngressRouter;
  wake: WakeCoordinator;
  config: { upstreamHeaderTimeoutMs: number };
}

export interface IngressHandler {
  /** For Bun.serve's `fetch`; `secure` says whether the listener is TLS. */
  fetch(req: Request, server: Server<SocketData>, secure?: boolean): Promise<Response | undefined>;
  websocket: Bun.WebSocketHandler<SocketData>;
}

const problem = (status: number, code: string, message: string) => Response.json({ code, message }, { status });

export function ingressHandler({ ctx, router, wake, config }: IngressProxyDeps): IngressHandler {
  const bridge = socketBridge(ctx);
  const sessions = new UpstreamSessions(ctx);

  async function fetch(req: Request, server: Server<SocketData>, secure = false): Promise<Response | undefined> {
    const url = new URL(req.url);
    const host = req.headers.get("host") ?? url.host;
    const route = router.match(host, server.port ?? 0, url.pathname);
    if (!route) return problem(404, "no_route", `no ingress rule for ${host}${url.pathname} on port ${server.port}`);
    const { rule, instanceId } = route;
    if (rule.tls && !secure) {
      if (rule.redirectHttp) return Response.redirect(`https://${host.replace(/:\d+$/, "")}${url.pathname}${url.search}`, 301);
      return problem(403, "tls_required", "this rule serves TLS only");
    }
    if (!headerAuthPasses(rule, req.headers)) return problem(403, "forbidden", `missing or wrong ${rule.requestHeaderAuth!.header} header`);
    if (!instanceId) return problem(502, "instance_not_found", `instance ${JSON.stringify(route.instanceRef)} does not exist`);

    const target: WakeTarget = { instanceId, port: rule.target.port, wakeStopped: rule.wakeStopped };
    const clientIp = server.requestIP(req)?.address;
    const counted = countsAsActivity(ctx.instances.get(instanceId)?.autoStandby ?? null, clientIp, rule.target.port);
    const endRequest = counted ? ctx.activity.begin(instanceId, "request") : () => {};
    try {
      const from = { clientIp, secure, host };
      const headers = upstreamRequestHeaders(req.headers, from, rule.requestHeaderAuth?.header);
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const up = await wake.upstream(target);
        const protocols = req.headers.get("sec-websocket-protocol");
        for (const h of ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"]) headers.delete(h);
        const data: SocketData = { instanceId, counted, url: `ws://${up.host}:${up.port}${url.pathname}${url.search}`, headers, protocols };
        if (server.upgrade(req, { data })) return undefined;
        return problem(400, "bad_upgrade", "not a valid WebSocket upgrade");
      }
      const res = await forward(req, url, headers, target);
      return await relayed(res, endRequest);
    } catch (err) {
      endRequest();
      if (err instanceof DomainError) return domainErrorResponse(err, ctx.paths.root);
      if (err instanceof UpstreamTimeout) return problem(504, "upstream_timeout", err.message);
      ctx.logger.warn("ingress upstream failed", { instance: instanceId, error: String(err) });
      return problem(502, "upstream_failed", `the guest did not answer: ${err instanceof Error ? err.message : err}`);
    } finally {
      // A WebSocket's activity is its connection's (websocket-bridge.ts); a response's ends with its body.
      if (req.headers.get("upgrade")) endRequest();
    }
  }

  async function forward(req: Request, url: URL, headers: Headers, target: WakeTarget): Promise<Response> {
    const body = await replayableBody(req);
    const replayable = !(body instanceof ReadableStream);
    for (let attempt = 1; ; attempt++) {
      const { upstream: up, answered } = await wake.admit(target);
      // A replayable request whose answer does not start in time is sent again (when it may be) rather than hang.
      const patience = replayable ? AbortSignal.timeout(config.upstreamHeaderTimeoutMs) : undefined;
      const signal = patience ? AbortSignal.any([req.signal, patience]) : req.signal;
      try {
        return await sessions.for(target.instanceId).fetch(`http://${up.host}:${up.port}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body,
          redirect: "manual",
          decompress: false,
          signal,
          ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
        } as RequestInit);
      } catch (err) {
        const failure = attemptFailure(err, patience?.aborted === true);
        if (!replayable || attempt >= UPSTREAM_ATTEMPTS || req.signal.aborted || !maySendAgain(req.method, failure)) {
          throw failure === "timeout" ? new UpstreamTimeout(`the guest did not start answering within ${config.upstreamHeaderTimeoutMs} ms`) : err;
        }
        ctx.logger.warn("ingress upstream attempt failed; trying again", { instance: target.instanceId, attempt, failure, error: String(err) });
      } finally {
        answered();
      }
    }
  }

  return { fetch, websocket: bridge };
}

function headerAuthPasses(rule: IngressRuleRecord, headers: Headers): boolean {
  const auth = rule.requestHeaderAuth;
  if (!auth) return true;
  const got = Buffer.from(headers.get(auth.header) ?? "");
  const want = Buffer.from(auth.value);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The guest's response with hop-by-hop headers dropped; `done` runs when its body ends or is cancelled. */
async function relayed(res: Response, done: () => void): Promise<Response> {
  const headers = withoutHopByHop(res.headers);
  const length = Number(res.headers.get("content-length") ?? Number.NaN);
  if (!res.body || length <= BUFFERED_RESPONSE_MAX) {
    try {
      const body = res.body ? await res.arrayBuffer() : null;
      return new Response(body, { status: res.status, statusText: res.statusText, headers });
    } finally {
      done();
    }
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        done();
        controller.error(err);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers });
}

