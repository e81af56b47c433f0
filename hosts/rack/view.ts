// The rack's live view and summary: every port of every machine, with
// packet and bit rates, active flows, drops by reason and NAT port use.

import type { MachineReport, RackSummary } from "./report.js";
import type { SwitchCounters } from "./switch.js";
import { table, wrap, screenWidth } from "../cli/table.js";
import { portRates, rate, dropsText, type CounterReading } from "../lib/rates.js";

type Prev = Map<string, CounterReading>;

export function liveView(reports: MachineReport[], elapsedMs: number, prev: Prev, underlay?: SwitchCounters): string {
  const now = Date.now();
  const rows: Record<string, unknown>[] = [];
  for (const m of reports) {
    for (const p of m.ports) {
      const key = `${m.machine}/${p.port}`;
      const reading = { t: now, counters: p.counters };
      const r = portRates(prev.get(key) ?? reading, reading);
      prev.set(key, reading);
      rows.push({
        machine: m.machine, port: p.port,
        "pps in/out": `${rate(r.ppsIn, "")}/${rate(r.ppsOut, "")}`,
        "bps in/out": `${rate(r.bpsIn, "b")}/${rate(r.bpsOut, "b")}`,
        flows: p.flows ?? "-", "nat ports": p.nat?.map((n) => `${n.inUse}/${n.size}`).join(" ") || "-", "drops/s": dropsText(r),
      });
    }
  }
  const sw = underlay ? `\n` + wrap(`underlay switch: ${underlay.switched} frames switched, ${underlay.unroutable} unroutable, ${underlay.ringFull} lost to full rings${underlay.replicated ? `, ${underlay.replicated} multicast copies` : ""}${underlay.frontPanel ? `, ${underlay.frontPanel} multicast frames for front-panel ports (none here)` : ""}`, screenWidth()).join("\n") : "";
  return `wopte rack in a box — ${(elapsedMs / 1000).toFixed(0)} s  (Ctrl-C to stop)\n\n${table(rows)}${sw}`;
}

export function summary(s: RackSummary): string {
  const lines: string[] = ["", ...wrap(`wopte rack in a box — summary after ${s.seconds.toFixed(1)} s: ${s.switched} frames crossed the underlay switch` +
    (s.unroutable ? ` (${s.unroutable} unroutable)` : ""), screenWidth())];
  const rows: Record<string, unknown>[] = [];
  for (const m of s.machines) {
    for (const e of m.endpoints) {
      rows.push({
        machine: m.machine, endpoint: e.name,
        "gateway arp": e.arpResolvedMs === undefined ? "-" : e.arpResolvedMs < 0 ? "unanswered" : `${e.arpResolvedMs} ms`,
        pings: e.pingsSent ? `${e.pingsAnswered}/${e.pingsSent}` : "-",
        "bulk acked": e.bulkBytesSent ? `${rate(e.bulkBytesAcked, "B")} of ${rate(e.bulkBytesSent, "B")}` : "-",
        "short flows": e.shortStarted ? `${e.shortCompleted}/${e.shortStarted}` : "-",
        "probes answered": e.probesSent ? `${e.probesAnswered}/${e.probesSent}` : "-",
        "served": Object.keys(e.servedFrom).length || "-",
      });
    }
  }
  lines.push(table(rows));
  const drops: Record<string, unknown>[] = [];
  for (const m of s.machines) for (const p of m.ports) for (const [reason, n] of Object.entries(p.counters.drops)) drops.push({ machine: m.machine, port: p.port, reason, frames: n });
  lines.push("\ndrops by reason:", table(drops));
  const server = s.machines.find((m) => m.role === "gateway")?.endpoints.find((e) => e.name === "server");
  if (server) {
    const srcs = new Map<string, number>();
    for (const k of Object.keys(server.servedFrom)) { const ip = k.split(":")[0]; srcs.set(ip, (srcs.get(ip) ?? 0) + 1); }
    lines.push("", ...wrap(`the external server saw connections from: ${[...srcs].map(([ip, n]) => `${ip} (${n})`).join(", ") || "nobody"}`, screenWidth()));
    const pings = Object.entries(server.pingedFrom ?? {}).map(([ip, n]) => `${ip} (${n})`).join(", ");
    lines.push(...wrap(`the external server answered pings from: ${pings || "nobody"}`, screenWidth()));
  }
  for (const e of s.errors) lines.push(`\nfailed: ${e}`);
  return lines.join("\n");
}
