// `wopte usage [--port X] [--since 10m] [--flows] [--csv|--json]`: bandwidth
// usage records of a running sled (per interval, per port or top flows).

import { apiBase, call } from "../client.js";
import { toCsv, parseDuration } from "../../sled/usage.js";
import { parseCommand, printJson, UsageError, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = "usage: wopte usage [--port X] [--since 10m] [--flows] [--csv|--json] [--api <url>]\n(--since: how far back, a duration such as 90s, 10m, 1h)";
const CMD = { name: "usage", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, {
    api: { type: "string" }, port: { type: "string" }, since: { type: "string" }, flows: { type: "boolean" },
    csv: { type: "boolean" }, json: { type: "boolean" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  if (values.csv && values.json) throw new UsageError("usage: --csv and --json are one or the other");
  if (values.since !== undefined) {
    try { parseDuration(values.since); } catch { throw new UsageError(`usage: --since wants a duration (90s, 10m, 1h), not "${values.since}"`); }
  }
  const q = new URLSearchParams();
  if (values.port) q.set("port", values.port);
  if (values.since) q.set("since", values.since);
  if (values.flows) q.set("flows", "1");
  const rows = await call<Record<string, unknown>[]>(apiBase(values.api), "GET", `/usage?${q}`);
  if (values.json) printJson(rows);
  else if (values.csv) process.stdout.write(toCsv(rows));
  else console.log(table(rows));
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
