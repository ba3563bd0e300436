// GET /capabilities: what this server offers (today: its network model).
import { createRoute } from "@hono/zod-openapi";
import type { CoreContext } from "../../core/service/context.ts";
import { networkCapabilities } from "../../core/network/capabilities.ts";
import { CapabilitiesSchema } from "../schemas/network.ts";
import { jsonResponse, routeApp } from "./route-helpers.ts";

const capabilities = createRoute({
  method: "get",
  path: "/capabilities",
  tags: ["service"],
  summary: "What this server offers",
  description: "The network model: `user` mode (each guest behind its own NAT, ports reached through loopback forwards) or `bridge` mode (a managed bridge with guest IPs).",
  responses: {
    200: jsonResponse(CapabilitiesSchema, "The server's capabilities", {
      network: { mode: "user", model: "nat", gateway: "10.0.2.2", subnet: "10.0.2.0/24", guest_to_guest: false, port_forwards: true, hypervisors: ["qemu"] },
    }),
  },
});

export function capabilitiesRoutes(ctx: CoreContext) {
  return routeApp().openapi(capabilities, (c) => {
    const n = networkCapabilities(ctx);
    return c.json(
      {
        network: {
          mode: n.mode,
          model: n.model,
          gateway: n.gateway,
          subnet: n.subnet,
          guest_to_guest: n.guestToGuest,
          port_forwards: n.portForwards,
          hypervisors: n.hypervisors,
        },
      },
      200,
    );
  });
}
