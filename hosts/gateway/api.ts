// The gateway host's API (docs/gateway-api.md), in the shape of dendrite's
// NAT API: PUT /nat/{ip}/{first}/{last} {sled, vni, mac}, GET /nat[/{ip}],
// DELETE /nat/{ip}/{first}; the advertised ranges; /health, /stats and
// /metrics (hosts/gateway/metrics.ts). Routes as data on the shared server
// (hosts/api/server.ts): a mapping with a VNI over 24 bits or a MAC that is
// not one is a 400 naming the field, before anything is stored.

import { z } from "zod";
import type { Registry } from "prom-client";
import type { Logger } from "pino";
import { GatewayHost } from "./gateway.js";
import { gatewayMetrics, GatewayMetrics } from "./metrics.js";
import { NatTarget } from "./config.js";
import { ip, cidr, port, decimal } from "../../layers/program/fields.js";
import { ApiServer, Listening, TcpSettings } from "../api/server.js";
import { route, RawBody, RouteSpec } from "../api/route.js";
import { HttpError } from "../api/errors.js";
import type { Limits } from "../api/config.js";

export interface GatewayApiOptions { log?: Logger; limits?: Partial<Limits> }

export class GatewayApi {
  readonly server: ApiServer;
  readonly registry: Registry;

  constructor(private readonly gw: GatewayHost, metrics: GatewayMetrics = gatewayMetrics(gw), o: GatewayApiOptions = {}) {
    this.registry = metrics.registry;
    this.server = new ApiServer({ kind: "gateway", routes: this.routes(), log: o.log, limits: o.limits, generation: () => gw.generation });
  }

  listen(o: { socket?: string | false; tcp?: TcpSettings }): Promise<Listening> { return this.server.listen(o); }
  close(): Promise<void> { return this.server.close(); }

  private routes(): RouteSpec[] {
    const gw = this.gw;
    return [
      route({
        method: "GET", path: "/health", summary: "liveness, the generation, fault and API counters",
        handler: () => ({ ok: true, gateway: gw.stats().name, generation: gw.generation, mappings: gw.listNat().length, faults: gw.faults, api: this.server.stats }),
      }),
      route({ method: "GET", path: "/stats", summary: "counters and drops by reason", handler: () => gw.stats() }),
      route({
        method: "GET", path: "/metrics", summary: "Prometheus metrics", produces: "text",
        handler: async () => new RawBody(this.registry.contentType, await this.registry.metrics()),
      }),
      route({ method: "GET", path: "/advertised", summary: "the external ranges this gateway owns (ARP, BGP)", handler: () => gw.ownedPrefixes }),
      route({
        method: "PUT", path: "/advertised", summary: "replace the owned ranges (BIRD's config is rewritten from the parsed prefixes)",
        body: z.array(cidr).max(1024),
        handler: async ({ body }) => { await gw.setOwnedPrefixes(body); return { advertised: gw.ownedPrefixes }; },
      }),
      route({ method: "GET", path: "/nat", summary: "every NAT ingress mapping", handler: () => gw.listNat() }),
      route({ method: "GET", path: "/nat/{ip}", summary: "the mappings of one external address", params: z.strictObject({ ip }), handler: ({ params }) => gw.listNat(params.ip) }),
      route({
        method: "PUT", path: "/nat/{ip}/{first}/{last}", summary: "map an external address and inclusive port range to a sled, VNI and guest MAC",
        params: z.strictObject({ ip, first: decimal(port), last: decimal(port) }), body: NatTarget,
        handler: async ({ params, body }) => {
          if (params.first > params.last) throw new HttpError(400, `path.last: the range ${params.first}-${params.last} is out of order`);
          return { changed: await gw.addNat({ ip: params.ip, firstPort: params.first, lastPort: params.last, ...body }) };
        },
      }),
      route({
        method: "DELETE", path: "/nat/{ip}/{first}", summary: "remove the mapping of an address that starts at a port",
        params: z.strictObject({ ip, first: decimal(port) }),
        handler: async ({ params }) => { await gw.removeNat(params.ip, params.first); return { removed: `${params.ip}/${params.first}` }; },
      }),
    ];
  }
}
