// `wopte layers <port>`: the port's layers in order, with rule hit counts.

import { apiBase, call } from "../client.js";
import { parseCommand, required, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = "usage: wopte layers <port> [--json] [--api <url>]\n--json: every rule with its name, predicates, action and hits";
const CMD = { name: "layers", usage: USAGE };

interface LayerDump { name: string; stats: Record<string, number>; rules: { id: number; name?: string; hits: number }[] }

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, { api: { type: "string" }, json: { type: "boolean" } }, 1);
  if (values.help) { console.log(USAGE); return 0; }
  const port = required(CMD, "<port> (wopte port list shows them)", positionals[0]);
  const layers = await call<LayerDump[]>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/layers`);
  if (values.json) { printJson(layers); return 0; }
  console.log(table(layers.map((l, i) => ({
    "#": i, layer: l.name, rules: l.rules.length, "in": l.stats.hitsIn, out: l.stats.hitsOut,
    "default in/out": `${l.stats.defaultIn}/${l.stats.defaultOut}`, denies: l.stats.denies,
    "top rules (hits)": l.rules.filter((r) => r.hits).sort((a, b) => b.hits - a.hits).slice(0, 3).map((r) => `${r.name ?? `#${r.id}`} ${r.hits}`).join(", ") || "-",
  })), undefined, { right: ["#", "rules", "in", "out", "denies"] }));
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
