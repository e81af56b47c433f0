// `wopte usage [--port X] [--since 10m] [--flows] [--csv|--json]`: bandwidth
// usage records of a running sled (per interval, per port or top flows).

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded } from "../client.js";
import { toCsv } from "../../sled/usage.js";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    api: { type: "string" }, port: { type: "string" }, since: { type: "string" }, flows: { type: "boolean" },
    csv: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  if (values.help) { console.log("usage: wopte usage [--port X] [--since 10m] [--flows] [--csv|--json] [--api <url>]"); return 0; }
  const q = new URLSearchParams();
  if (values.port) q.set("port", values.port);
  if (values.since) q.set("since", values.since);
  if (values.flows) q.set("flows", "1");
  return guarded(async () => {
    const rows = await call<Record<string, unknown>[]>(apiBase(values.api), "GET", `/usage?${q}`);
    if (values.json) console.log(JSON.stringify(rows, null, 2));
    else if (values.csv) process.stdout.write(toCsv(rows));
    else console.log(table(rows));
  });
}
