// The gateway host's Prometheus metrics (docs/gateway-api.md "Metrics"): the
// boundary port's engine counters and flow table (`from` is rack or
// external), the NAT ingress table's size, frames dropped before the engine,
// the underlay driver's counters and the standard process and Node.js
// metrics, named as on the sled (hosts/lib/metrics.ts).

import { Gauge } from "prom-client";
import { GatewayHost, GATEWAY_PORT } from "./gateway.js";
import { Registry, Histogram, hostRegistry, portMetrics, batchHistogram, underlayMetrics, hostDropMetrics } from "../lib/metrics.js";

export interface GatewayMetrics { registry: Registry; batchLatency: Histogram }

export function gatewayMetrics(gw: GatewayHost): GatewayMetrics {
  const registry = hostRegistry();
  portMetrics({ registry, engine: gw.engine, prefix: "wopte_gateway", labelNames: [], sides: { network: "rack", guest: "external" },
    ports: () => [{ labels: {}, id: GATEWAY_PORT }] });
  new Gauge({ name: "wopte_gateway_nat_mappings", help: "NAT ingress mappings (external address and port range to a guest)", registers: [registry],
    collect() { this.set(gw.listNat().length); } });
  new Gauge({ name: "wopte_gateway_owned_prefixes", help: "external address ranges this gateway answers for and advertises", registers: [registry],
    collect() { this.set(gw.ownedPrefixes.length); } });
  hostDropMetrics(registry, "wopte_gateway_pump_dropped_packets_total", "frames the gateway dropped before the engine (oversize: bigger than an engine slot)", () => gw.pumpDrops);
  underlayMetrics(registry, () => gw.underlayStats());
  return { registry, batchLatency: batchHistogram(registry) };
}
