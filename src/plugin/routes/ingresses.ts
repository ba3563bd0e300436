// Ingress endpoints (reference-network §3): create, list (tags filter), get, delete. The proxy that serves them is
// src/plugin/ingress/.
import { createRoute, z } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { createIngress, deleteIngress, listIngresses, resolveIngress } from "../../core/ingress/ingresses.ts";
import { IdParamSchema } from "../schemas/common.ts";
import { CreateIngressSchema, IngressSchema } from "../schemas/ingress.ts";
import { ingressToWire, ruleFromWire } from "../wire/ingress.ts";
import { errors, jsonBody, jsonResponse, routeApp } from "./route-helpers.ts";
import { tagFilter } from "./snapshots.ts";

const tags = ["ingresses"];
const ID_NOTE = "`{id}` is an ingress id, a name, or a unique id prefix.";

const ingressExample = {
  id: "k2x9q8w7e6r5t4y3u2i1o0pa",
  name: "apps",
  tags: {},
  rules: [
    {
      match: { hostname: "{instance}.apps.example.com", port: 8080, path_prefix: "/" },
      target: { instance: "{instance}", port: 8080 },
      tls: false,
      redirect_http: false,
      wake_stopped: false,
    },
  ],
  created_at: "2026-01-01T00:00:00.000Z",
};

const create = createRoute({
  method: "post",
  path: "/ingresses",
  tags,
  summary: "Create an ingress",
  description:
    "Routes requests arriving on the ingress listener (config `ingress.listen`) by Host, port and path prefix to an instance's port. A Standby target is restored by the first request.",
  request: {
    body: jsonBody(CreateIngressSchema, {
      name: "apps",
      rules: [{ match: { hostname: "{instance}.apps.example.com", port: 8080 }, target: { instance: "{instance}", port: 8080 } }],
    }),
  },
  responses: { 201: jsonResponse(IngressSchema, "The new ingress", ingressExample), ...errors(400, 409) },
});

const list = createRoute({
  method: "get",
  path: "/ingresses",
  tags,
  summary: "List ingresses",
  description: "Every ingress, oldest first; `tags[key]=value` pairs must all match.",
  responses: { 200: jsonResponse(z.array(IngressSchema), "Ingresses", [ingressExample]), ...errors(400) },
});

/** GET and DELETE of one ingress differ in method, summary and success answer only. */
const byId = <M extends "get" | "delete", R extends object>(method: M, summary: string, success: R) =>
  createRoute({ method, path: "/ingresses/{id}", tags, summary, description: ID_NOTE, request: { params: IdParamSchema }, responses: { ...success, ...errors(404, 409) } });

const get = byId("get", "Get an ingress", { 200: jsonResponse(IngressSchema, "The ingress", ingressExample) });
const remove = byId("delete", "Delete an ingress", { 204: { description: "Deleted" } });

export function ingressRoutes(ctx: CoreContext) {
  return routeApp()
    .openapi(create, (c) => {
      const body = c.req.valid("json");
      const row = createIngress(ctx, { name: body.name, tags: body.tags ?? {}, rules: body.rules.map(ruleFromWire) });
      return c.json(ingressToWire(row), 201);
    })
    .openapi(list, (c) => c.json(listIngresses(ctx, tagFilter(c.req.query())).map(ingressToWire), 200))
    .openapi(get, (c) => c.json(ingressToWire(resolveIngress(ctx, c.req.valid("param").id)), 200))
    .openapi(remove, (c) => {
      deleteIngress(ctx, c.req.valid("param").id);
      return c.body(null, 204);
    });
}
