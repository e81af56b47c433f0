// The sled host's Prometheus metrics (docs/sled-api.md "Metrics"): every
// port's engine counters and flow table, each SNAT pool's ports in use
// beside its capacity, the drops the host itself counts (frames too big
// for an engine slot, underlay frames for no local port, membership reports
// it could not apply), multicast copies made and held back, the underlay
// driver's counters, and the standard
// process and Node.js metrics. Names follow hosts/lib/metrics.ts.

import { Counter, Gauge } from "prom-client";
import type { SledHost } from "./sled.js";
import { Registry, Histogram, hostRegistry, portMetrics, batchHistogram, underlayMetrics, hostDropMetrics } from "../lib/metrics.js";

export interface SledMetrics { registry: Registry; batchLatency: Histogram }

export function sledMetrics(host: SledHost): SledMetrics {
  const registry = hostRegistry();
  const ports = () => [...host.ports.values()].map((p) => ({ labels: { port: p.name }, id: p.id }));
  portMetrics({ registry, engine: host.engine, prefix: "wopte_port", labelNames: ["port"], sides: { network: "network", guest: "guest" }, ports });
  // one series per SNAT pool (one per internet gateway): usage beside capacity
  const poolLabels = ["port", "pool", "ip"];
  const eachPool = (f: (labels: Record<string, string>, usage: { inUse: number; size: number; exhausted: number }) => void) => {
    for (const p of host.ports.values()) {
      for (const pool of p.compiled.natPools) f({ port: p.name, pool: String(pool.pool), ip: pool.ip }, host.engine.natUsage(p.id, pool.pool));
    }
  };
  new Gauge({ name: "wopte_port_nat_ports_in_use", help: "SNAT ports bound to flows, per pool", labelNames: poolLabels, registers: [registry],
    collect() { this.reset(); eachPool((l, u) => this.set(l, u.inUse)); } });
  new Gauge({ name: "wopte_port_nat_ports_capacity", help: "SNAT ports in the pool (its port range)", labelNames: poolLabels, registers: [registry],
    collect() { this.reset(); eachPool((l, u) => this.set(l, u.size)); } });
  new Counter({ name: "wopte_port_nat_exhausted_total", help: "new flows refused because the pool had no free port", labelNames: poolLabels, registers: [registry],
    collect() { this.reset(); eachPool((l, u) => this.inc(l, u.exhausted)); } });
  new Counter({ name: "wopte_port_membership_reports_total", help: "IGMPv3/MLDv2 reports from the guest: learned, bad (malformed, or more groups than a port holds), ignored_record (records of a kind a port does not take)",
    labelNames: ["port", "result"], registers: [registry],
    collect() {
      this.reset();
      for (const p of host.ports.values()) {
        this.inc({ port: p.name, result: "learned" }, p.reports.learned);
        this.inc({ port: p.name, result: "bad" }, p.reports.bad);
        this.inc({ port: p.name, result: "ignored_record" }, p.reports.ignoredRecords);
      }
    } });
  hostDropMetrics(registry, "wopte_sled_pump_dropped_packets_total", "frames the sled dropped before the engine (oversize: bigger than an engine slot)", () => host.pumpDrops);
  hostDropMetrics(registry, "wopte_sled_underlay_dropped_packets_total", "underlay frames dropped before the engine: from an unknown source (no known sled nor boundary services), for no local port (unknown destination MAC, group with no local member), malformed", () => host.underlayDrops);
  // multicast (hosts/sled/multicast.ts): the copies the sled made of group frames, and the ones it held back
  new Counter({ name: "wopte_sled_multicast_copies_total", help: "copies of group frames: to local members from a local sender (local), to next hops by replication (underlay, external; both counts in each), from the underlay to local members (received)",
    labelNames: ["to"], registers: [registry],
    collect() {
      this.reset();
      const c = host.multicastCounters;
      for (const [to, n] of [["local", c.txLocal], ["underlay", c.txUnderlay], ["external", c.txExternal], ["received", c.rxLocal]] as const) this.inc({ to }, n);
    } });
  hostDropMetrics(registry, "wopte_sled_multicast_held_total", "group frames or copies the sled did not send out: no forwarding entry for the underlay group, a next hop's source filter, a frame the engine could not mark",
    () => { const c = host.multicastCounters; return { noForwarding: c.noForwarding, forwardingFiltered: c.forwardingFiltered, replicationErrors: c.replicationErrors }; });
  // flow checkpoints (hosts/sled/checkpoints.ts), when the sled keeps them
  new Counter({ name: "wopte_sled_checkpoints_total", help: "flow checkpoint rounds: written (every port's file), failed (a write error; the previous files stay), skipped (the previous round still writing)",
    labelNames: ["result"], registers: [registry],
    collect() {
      this.reset();
      const c = host.checkpoints?.stats;
      if (c) for (const result of ["written", "failed", "skipped"] as const) this.inc({ result }, c[result]);
    } });
  new Counter({ name: "wopte_sled_checkpoint_restores_total", help: "ports whose flows came back from their checkpoint at start (restored), whose checkpoint the snapshot checks refused (refused: the port started empty), or could not be read",
    labelNames: ["result"], registers: [registry],
    collect() {
      this.reset();
      const c = host.checkpoints?.stats;
      if (c) for (const result of ["restored", "refused", "unreadable"] as const) this.inc({ result }, c[result]);
    } });
  new Gauge({ name: "wopte_sled_checkpoint_last_flows", help: "flows in the last checkpoint written", registers: [registry],
    collect() { this.set(host.checkpoints?.stats.last?.flows ?? 0); } });
  new Gauge({ name: "wopte_sled_checkpoint_last_seconds", help: "how long the last checkpoint took to take and write", registers: [registry],
    collect() { this.set((host.checkpoints?.stats.last?.ms ?? 0) / 1000); } });
  new Gauge({ name: "wopte_sled_checkpoint_last_timestamp_seconds", help: "when the last checkpoint was written (Unix time; 0: none yet)", registers: [registry],
    collect() { const t = host.checkpoints?.stats.last?.time; this.set(t ? Date.parse(t) / 1000 : 0); } });
  underlayMetrics(registry, () => host.underlayStats());
  new Gauge({ name: "wopte_sled_ports", help: "ports on this sled", registers: [registry], collect() { this.set(host.ports.size); } });
  return { registry, batchLatency: batchHistogram(registry) };
}
