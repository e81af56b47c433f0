// `wopte top`: every port of a sled at once, sorted by bandwidth, refreshed
// every second — the seed's `linkstat` for "who's sucking up the bandwidth?".
// Every column is a rate over the last interval, drops included (drops/s);
// the first frame waits one interval so it shows rates, not zeros.

import { apiBase, call } from "../client.js";
import { parseCommand, numberOption, guard } from "../conventions.js";
import { table, screenWidth } from "../table.js";
import { LiveScreen } from "../../lib/screen.js";
import { portRates, rate, dropsText, type CounterReading, type PortRates } from "../../lib/rates.js";

export { rate };

export const USAGE = `usage: wopte top [--interval 1] [--count N] [--json] [--api <url>]
--interval: seconds between frames (0.1 to 3600); --count: frames to show, then exit
--json: one JSON line of rates per frame (implies no screen drawing)`;
const CMD = { name: "top", usage: USAGE };

interface PortStats { port: string; flows: number; counters: CounterReading["counters"]; nat: { inUse: number; size: number }[] }

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, { api: { type: "string" }, interval: { type: "string" }, count: { type: "string" }, json: { type: "boolean" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const every = numberOption(CMD, "--interval", values.interval, { min: 0.1, max: 3600, unit: "seconds", fallback: 1 }) * 1000;
  const count = numberOption(CMD, "--count", values.count, { min: 1, integer: true, fallback: Infinity });
  const base = apiBase(values.api);
  const sample = async () => ({ t: Date.now(), list: await call<PortStats[]>(base, "GET", "/stats") });
  let prev = await sample();
  const screen = new LiveScreen();
  let stop = false;
  const wake = { fn: () => {} };
  const onSignal = () => { stop = true; wake.fn(); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  if (!values.json) screen.start();
  try {
    for (let i = 0; i < count && !stop; i++) {
      await new Promise<void>((r) => { const t = setTimeout(r, every); wake.fn = () => { clearTimeout(t); r(); }; });
      if (stop) break;
      const now = await sample();
      const before = new Map(prev.list.map((s) => [s.port, { t: prev.t, counters: s.counters }]));
      const rows = now.list.map((s) => ({ s, r: portRates(before.get(s.port) ?? { t: now.t, counters: s.counters }, { t: now.t, counters: s.counters }) }));
      rows.sort((a, b) => b.r.bpsIn + b.r.bpsOut - (a.r.bpsIn + a.r.bpsOut));
      prev = now;
      if (values.json) { process.stdout.write(JSON.stringify({ time: new Date(now.t).toISOString(), ports: rows.map(({ s, r }) => ({ port: s.port, flows: s.flows, ...r })) }) + "\n"); continue; }
      screen.draw(frame(base, now.t, every, rows));
    }
  } finally {
    screen.stop();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  return 0;
}

function frame(base: string, t: number, every: number, rows: { s: PortStats; r: PortRates }[]): string {
  const head = `wopte top — ${base} — ${new Date(t).toISOString().slice(11, 19)} UTC — rates over ${every / 1000} s (Ctrl-C to stop)`;
  return `${head}\n\n${table(rows.map(({ s, r }) => ({
    port: s.port, "in bps": rate(r.bpsIn, "b"), "out bps": rate(r.bpsOut, "b"), "in pps": rate(r.ppsIn, ""), "out pps": rate(r.ppsOut, ""),
    flows: s.flows, nat: s.nat.map((n) => `${n.inUse}/${n.size}`).join(" ") || "-", "drops/s": dropsText(r),
  })), undefined, { width: screenWidth(), right: ["in bps", "out bps", "in pps", "out pps", "flows"] })}`;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
