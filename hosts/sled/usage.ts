// Usage records (seed 002: Crossbow's `flowadm show-usage`): the sled samples
// every port's counters at a fixed interval and keeps the per-interval
// deltas for an hour, plus each interval's top flows by bytes, so operators
// can answer "who used the bandwidth, and when".

import type { SledHost } from "./sled.js";

export interface PortUsage {
  time: string; port: string; seconds: number;
  pktsIn: number; pktsOut: number; bytesIn: number; bytesOut: number; drops: number;
}
export interface FlowUsage {
  time: string; port: string; proto: number; src: string; sport: number; dst: string; dport: number;
  bytesOut: number; bytesIn: number; pktsOut: number; pktsIn: number;
}

interface Last { t: number; c: { pktsIn: number; pktsOut: number; bytesIn: number; bytesOut: number; drops: number }; flows: Map<string, number[]> }

export class UsageRecorder {
  private readonly ports: PortUsage[] = [];
  private readonly flows: FlowUsage[] = [];
  private readonly last = new Map<string, Last>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly host: SledHost, readonly intervalMs = 10_000, private readonly keepMs = 3_600_000, private readonly topFlows = 20) {
    // a sampling error is the host's fault to count, not a reason to end it
    this.timer = setInterval(host.faults.guard("usage", () => this.sample()), intervalMs);
    this.timer.unref();
  }

  /** Take one sample now (also called by the timer). */
  sample(now = Date.now()): void {
    for (const p of this.host.ports.values()) {
      const c = this.host.engine.counters(p.id);
      const drops = Object.values(c.drops).reduce((a, b) => a + b, 0);
      const cur = { pktsIn: c.pktsIn, pktsOut: c.pktsOut, bytesIn: c.bytesIn, bytesOut: c.bytesOut, drops };
      const prev = this.last.get(p.name);
      const flows = new Map<string, number[]>();
      const deltas: FlowUsage[] = [];
      for (const f of this.host.engine.flows(p.id)) {
        const key = `${f.out.proto}|${f.out.src}|${f.out.sport}|${f.out.dst}|${f.out.dport}`;
        const v = [f.out.bytes, f.in.bytes, f.out.pkts, f.in.pkts];
        flows.set(key, v);
        const was = prev?.flows.get(key) ?? [0, 0, 0, 0];
        const d = v.map((x, i) => x - was[i]);
        if (d[0] + d[1] > 0) {
          deltas.push({ time: new Date(now).toISOString(), port: p.name, proto: f.out.proto, src: f.out.src, sport: f.out.sport,
            dst: f.out.dst, dport: f.out.dport, bytesOut: d[0], bytesIn: d[1], pktsOut: d[2], pktsIn: d[3] });
        }
      }
      if (prev) {
        this.ports.push({ time: new Date(now).toISOString(), port: p.name, seconds: (now - prev.t) / 1000,
          pktsIn: cur.pktsIn - prev.c.pktsIn, pktsOut: cur.pktsOut - prev.c.pktsOut,
          bytesIn: cur.bytesIn - prev.c.bytesIn, bytesOut: cur.bytesOut - prev.c.bytesOut, drops: cur.drops - prev.c.drops });
        deltas.sort((a, b) => b.bytesOut + b.bytesIn - a.bytesOut - a.bytesIn);
        this.flows.push(...deltas.slice(0, this.topFlows));
      }
      this.last.set(p.name, { t: now, c: cur, flows });
    }
    const cutoff = new Date(now - this.keepMs).toISOString();
    while (this.ports.length && this.ports[0].time < cutoff) this.ports.shift();
    while (this.flows.length && this.flows[0].time < cutoff) this.flows.shift();
  }

  query(o: { port?: string; sinceMs?: number; flows?: boolean; now?: number }): PortUsage[] | FlowUsage[] {
    const since = new Date((o.now ?? Date.now()) - (o.sinceMs ?? this.keepMs)).toISOString();
    const rows = o.flows ? this.flows : this.ports;
    return rows.filter((r) => r.time >= since && (!o.port || r.port === o.port)) as PortUsage[] | FlowUsage[];
  }

  close(): void { clearInterval(this.timer); }
}

/** "10m", "90s", "1h" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`bad duration ${s} (use e.g. 90s, 10m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

export function toCsv(rows: object[]): string {
  if (!rows.length) return "";
  const cols = Object.keys(rows[0]);
  return [cols.join(","), ...rows.map((r) => cols.map((c) => String((r as Record<string, unknown>)[c])).join(","))].join("\n") + "\n";
}
