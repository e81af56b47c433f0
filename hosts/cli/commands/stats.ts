// `wopte stats [<port>]`: counters and drops by reason.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded } from "../client.js";

interface PortStats { port: string; state: string; flows: number; flowCapacity: number; epoch: number;
  counters: Record<string, number> & { drops: Record<string, number> }; nat: { ip: string; inUse: number; size: number }[] }

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { api: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  const [port] = positionals;
  if (values.help) { console.log("usage: wopte stats [<port>] [--json] [--api <url>]"); return 0; }
  return guarded(async () => {
    const base = apiBase(values.api);
    const list = port ? [await call<PortStats>(base, "GET", `/ports/${encodeURIComponent(port)}/stats`)] : await call<PortStats[]>(base, "GET", "/stats");
    if (values.json) { console.log(JSON.stringify(port ? list[0] : list, null, 2)); return; }
    console.log(table(list.map((s) => ({
      port: s.port, state: s.state, flows: `${s.flows}/${s.flowCapacity}`,
      "pkts in/out": `${s.counters.pktsIn}/${s.counters.pktsOut}`, "bytes in/out": `${s.counters.bytesIn}/${s.counters.bytesOut}`,
      "fast/slow": `${s.counters.fastIn + s.counters.fastOut}/${s.counters.slowIn + s.counters.slowOut}`,
      hairpins: s.counters.hairpins, nat: s.nat.map((n) => `${n.inUse}/${n.size}`).join(" ") || "-",
    }))));
    for (const s of list) {
      const drops = Object.entries(s.counters.drops);
      if (drops.length) console.log(`\n${s.port} drops:\n` + table(drops.map(([reason, n]) => ({ reason, frames: n }))));
    }
  });
}
