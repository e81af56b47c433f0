// `wopte top`: every port of a sled at once, sorted by bandwidth, refreshed
// every second — the seed's `linkstat` for "who's sucking up the bandwidth?".

import { parseArgs } from "node:util";
import { apiBase, call, table } from "../client.js";

interface PortStats { port: string; flows: number; counters: Record<string, number> & { drops: Record<string, number> }; nat: { inUse: number; size: number }[] }

export function rate(n: number, unit: string): string {
  const k = ["", "k", "M", "G", "T"];
  let i = 0;
  while (n >= 1000 && i < k.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)}${k[i]}${unit}`;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { api: { type: "string" }, interval: { type: "string" }, count: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) { console.log("usage: wopte top [--interval 1] [--count N] [--api <url>]"); return 0; }
  const base = apiBase(values.api);
  const every = Number(values.interval ?? 1) * 1000;
  const count = values.count ? Number(values.count) : Infinity;
  let prev = new Map<string, { t: number; c: Record<string, number> }>();
  let stop = false;
  process.once("SIGINT", () => { stop = true; });
  for (let i = 0; i < count && !stop; i++) {
    let list: PortStats[];
    try { list = await call<PortStats[]>(base, "GET", "/stats"); } catch (err) { console.error(`wopte top: ${(err as Error).message}`); return 1; }
    const now = Date.now();
    const rows = list.map((s) => {
      const p = prev.get(s.port);
      const dt = p ? (now - p.t) / 1000 : 0;
      const d = (k: string) => (p && dt > 0 ? (s.counters[k] - p.c[k]) / dt : 0);
      const drops = Object.entries(s.counters.drops).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([r, n]) => `${r}:${n}`).join(" ");
      return { port: s.port, bps: d("bytesIn") * 8 + d("bytesOut") * 8,
        row: { PORT: s.port, "IN bps": rate(d("bytesIn") * 8, "b"), "OUT bps": rate(d("bytesOut") * 8, "b"),
          "IN pps": rate(d("pktsIn"), ""), "OUT pps": rate(d("pktsOut"), ""), FLOWS: s.flows,
          NAT: s.nat.map((n) => `${n.inUse}/${n.size}`).join(" ") || "-", DROPS: drops || "-" } };
    });
    prev = new Map(list.map((s) => [s.port, { t: now, c: s.counters }]));
    rows.sort((a, b) => b.bps - a.bps);
    if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
    console.log(`wopte top — ${base} — ${new Date(now).toISOString()}\n`);
    console.log(table(rows.map((r) => r.row)));
    if (i + 1 < count) await new Promise((r) => setTimeout(r, every));
  }
  return 0;
}
