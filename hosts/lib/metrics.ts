// Prometheus metrics every host shares, named by the book
// (prometheus.io/docs/practices/naming): base units, `_total` on counters
// only, `_packets_total`/`_bytes_total` for traffic, and the side a frame
// came from as a `from` label rather than a word in the name. Values are read
// from the engine when Prometheus scrapes, so nothing is counted twice and the
// datapath pays nothing. `promtool check metrics` passes on every host
// (test/metrics/promtool.test.ts).

import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from "prom-client";
import type { Engine } from "../engine/engine.js";

export { Registry, Histogram };

/**
 * A registry with the standard process and Node.js metrics under their
 * standard names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`,
 * …) so stock dashboards find them. prom-client also exports three gauges
 * whose names end in `_total` (the sums of `nodejs_active_{handles,requests,
 * resources}` over their type label); Prometheus reserves that suffix for
 * counters, so they are left out: sum the labelled gauges instead.
 */
export function hostRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
  return registry;
}

/** One engine port as metrics see it: its labels and its id. */
export interface MeteredPort { labels: Record<string, string>; id: number }

export interface PortMetricsOptions {
  registry: Registry;
  engine: Engine;
  /** Metric name prefix: `wopte_port` on a sled, `wopte_gateway` on the gateway. */
  prefix: string;
  /** Label names every port carries (`["port"]` on a sled, none on the gateway). */
  labelNames: string[];
  /** What the engine's two sides are called on this host (the `from` label's values). */
  sides: { network: string; guest: string };
  /** The engine ports to report, read at every scrape. */
  ports: () => Iterable<MeteredPort>;
}

/** The engine's per-port counters (hosts/engine/reasons.ts PORT_COUNTERS) and flow-table gauges, every one exported. */
export function portMetrics(o: PortMetricsOptions): void {
  const { registry, engine, prefix } = o;
  const sideLabels = [...o.labelNames, "from"];
  /** A counter family read from the engine's counters; `values` gives each labelled value for a port. */
  const fromCounters = (name: string, help: string, labelNames: string[], values: (c: ReturnType<Engine["counters"]>) => [Record<string, string>, number][]) =>
    new Counter({
      name: `${prefix}_${name}`, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const p of o.ports()) {
          for (const [labels, n] of values(engine.counters(p.id))) this.inc({ ...p.labels, ...labels }, n);
        }
      },
    });
  const bySide = (inKey: string, outKey: string) => (c: Record<string, number>): [Record<string, string>, number][] =>
    [[{ from: o.sides.network }, c[inKey] ?? 0], [{ from: o.sides.guest }, c[outKey] ?? 0]];
  const plain = (key: string) => (c: Record<string, number>): [Record<string, string>, number][] => [[{}, c[key] ?? 0]];

  fromCounters("packets_total", "frames the engine took in, by the side they came from", sideLabels, bySide("pktsIn", "pktsOut"));
  fromCounters("bytes_total", "bytes the engine took in, by the side they came from", sideLabels, bySide("bytesIn", "bytesOut"));
  fromCounters("fast_path_packets_total", "frames that hit a cached flow", sideLabels, bySide("fastIn", "fastOut"));
  fromCounters("slow_path_packets_total", "frames that walked the layers", sideLabels, bySide("slowIn", "slowOut"));
  fromCounters("dropped_packets_total", "frames dropped, by reason", [...o.labelNames, "reason"],
    (c) => Object.entries(c.drops).map(([reason, n]) => [{ reason }, n]));
  fromCounters("side_dropped_packets_total", "frames dropped, by the side they came from (all reasons)", sideLabels, bySide("dropsIn", "dropsOut"));
  fromCounters("hairpin_packets_total", "replies the engine generated itself (ARP, NDP, DHCP, ICMP)", o.labelNames, plain("hairpins"));
  fromCounters("to_host_packets_total", "frames handed to the host (multicast membership reports)", o.labelNames, plain("toHost"));
  fromCounters("flows_created_total", "flows created", o.labelNames, plain("flowsCreated"));
  fromCounters("flows_expired_total", "flows expired idle", o.labelNames, plain("flowsExpired"));
  fromCounters("flows_closed_total", "flows removed after their TCP connection closed", o.labelNames, plain("flowsClosed"));
  fromCounters("flows_reevaluated_total", "cached flows walked through the layers again after a rule change", o.labelNames, plain("reevaluated"));
  new Gauge({
    name: `${prefix}_flows`, help: "flows in the flow table", labelNames: o.labelNames, registers: [registry],
    collect() { this.reset(); for (const p of o.ports()) this.set(p.labels, engine.flowCount(p.id)); },
  });
  new Gauge({
    name: `${prefix}_flow_capacity`, help: "flows the flow table holds at most", labelNames: o.labelNames, registers: [registry],
    collect() { this.reset(); for (const p of o.ports()) this.set(p.labels, engine.flowCapacity(p.id)); },
  });
}

/** The engine's batch call time (a host calls `observe` after each batch). */
export function batchHistogram(registry: Registry): Histogram {
  return new Histogram({
    name: "wopte_engine_batch_seconds", help: "time of one engine batch call", registers: [registry],
    buckets: [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3],
  });
}

/** Frames the underlay driver sent and received, and the ones it could not. */
export function underlayMetrics(registry: Registry, stats: () => { tx: number; rx: number; txErrors: number; rxErrors: number }): void {
  for (const [name, help, key] of [
    ["transmit_packets_total", "frames sent on the underlay", "tx"],
    ["receive_packets_total", "frames received from the underlay", "rx"],
    ["transmit_errors_total", "frames the underlay could not send (not Geneve, no live next hop, socket error)", "txErrors"],
    ["receive_errors_total", "datagrams the underlay could not take (bad source, socket error)", "rxErrors"],
  ] as const) {
    new Counter({ name: `wopte_underlay_${name}`, help, registers: [registry], collect() { this.reset(); this.inc(stats()[key]); } });
  }
}

/** Host-side drops outside the engine (a record of counters by reason), as one counter family with a reason label. */
export function hostDropMetrics(registry: Registry, name: string, help: string, counts: () => Record<string, number>): void {
  new Counter({
    name, help, labelNames: ["reason"], registers: [registry],
    collect() { this.reset(); for (const [reason, n] of Object.entries(counts())) this.inc({ reason }, n); },
  });
}
