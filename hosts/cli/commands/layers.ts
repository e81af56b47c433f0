// `wopte layers <port>`: the port's layers in order, with rule hit counts.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded } from "../client.js";

interface LayerDump { name: string; stats: Record<string, number>; rules: { id: number; hits: number }[] }

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { api: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  const [port] = positionals;
  if (values.help || !port) { console.log("usage: wopte layers <port> [--json] [--api <url>]"); return values.help ? 0 : 2; }
  return guarded(async () => {
    const layers = await call<LayerDump[]>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/layers`);
    if (values.json) { console.log(JSON.stringify(layers, null, 2)); return; }
    console.log(table(layers.map((l, i) => ({
      "#": i, layer: l.name, rules: l.rules.length, "in": l.stats.hitsIn, out: l.stats.hitsOut,
      "default in/out": `${l.stats.defaultIn}/${l.stats.defaultOut}`, denies: l.stats.denies,
      "top rules (id:hits)": l.rules.filter((r) => r.hits).sort((a, b) => b.hits - a.hits).slice(0, 4).map((r) => `${r.id}:${r.hits}`).join(" ") || "-",
    }))));
  });
}
