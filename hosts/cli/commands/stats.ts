// `wopte stats [<port>]`: counters and drops by reason.

import { apiBase, call } from "../client.js";
import { parseCommand, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = "usage: wopte stats [<port>] [--json] [--api <url>]";
const CMD = { name: "stats", usage: USAGE };

interface PortStats { port: string; state: string; flows: number; flowCapacity: number; epoch: number;
  counters: Record<string, number> & { drops: Record<string, number> }; nat: { ip: string; inUse: number; size: number }[] }

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, { api: { type: "string" }, json: { type: "boolean" } }, 1);
  if (values.help) { console.log(USAGE); return 0; }
  const [port] = positionals;
  const base = apiBase(values.api);
  const list = port ? [await call<PortStats>(base, "GET", `/ports/${encodeURIComponent(port)}/stats`)] : await call<PortStats[]>(base, "GET", "/stats");
  if (values.json) { printJson(port ? list[0] : list); return 0; }
  console.log(table(list.map((s) => ({
    port: s.port, state: s.state, flows: `${s.flows}/${s.flowCapacity}`,
    "pkts in/out": `${s.counters.pktsIn}/${s.counters.pktsOut}`, "bytes in/out": `${s.counters.bytesIn}/${s.counters.bytesOut}`,
    "fast/slow": `${s.counters.fastIn + s.counters.fastOut}/${s.counters.slowIn + s.counters.slowOut}`,
    hairpins: s.counters.hairpins, nat: s.nat.map((n) => `${n.inUse}/${n.size}`).join(" ") || "-",
  }))));
  for (const s of list) {
    const drops = Object.entries(s.counters.drops);
    if (drops.length) console.log(`\n${s.port} drops:\n` + table(drops.map(([reason, n]) => ({ reason, frames: n })), undefined, { right: ["frames"] }));
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
