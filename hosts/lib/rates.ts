// Per-second rates from two readings of a port's counters, as `wopte top`
// and the demo's live view show them: bits and packets each way, and drops
// per second with the reason that grew most. Everything shown beside a rate
// is a rate; totals are for `wopte stats`.

export interface CounterReading { t: number; counters: Record<string, number> & { drops: Record<string, number> } }

export interface PortRates { bpsIn: number; bpsOut: number; ppsIn: number; ppsOut: number; dropsPerSec: number; topDrop?: string }

export function portRates(prev: CounterReading, now: CounterReading): PortRates {
  const dt = (now.t - prev.t) / 1000;
  const d = (k: string) => (dt > 0 ? Math.max(0, (now.counters[k] ?? 0) - (prev.counters[k] ?? 0)) / dt : 0);
  let dropsPerSec = 0, topDrop: string | undefined, topN = 0;
  for (const [reason, n] of Object.entries(now.counters.drops ?? {})) {
    const grew = Math.max(0, n - (prev.counters.drops?.[reason] ?? 0));
    if (dt > 0) dropsPerSec += grew / dt;
    if (grew > topN) { topN = grew; topDrop = reason; }
  }
  return { bpsIn: d("bytesIn") * 8, bpsOut: d("bytesOut") * 8, ppsIn: d("pktsIn"), ppsOut: d("pktsOut"), dropsPerSec, topDrop };
}

/** 1234567 → "1.2M" (SI prefixes), with a unit after. */
export function rate(n: number, unit: string): string {
  const k = ["", "k", "M", "G", "T"];
  let i = 0;
  while (n >= 1000 && i < k.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)}${k[i]}${unit}`;
}

/** "12/s NoRoute" or "-". */
export function dropsText(r: PortRates): string {
  return r.dropsPerSec > 0 ? `${rate(r.dropsPerSec, "/s")}${r.topDrop ? ` ${r.topDrop}` : ""}` : "-";
}
