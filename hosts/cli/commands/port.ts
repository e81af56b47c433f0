// `wopte port list|create|rm|show|pause|resume` over the sled API.

import { readFileSync } from "node:fs";
import { apiBase, call } from "../client.js";
import { parseCommand, choice, required, printJson, Failure, guard } from "../conventions.js";
import { table, cellText } from "../table.js";

export const USAGE = `usage: wopte port list [--json]
       wopte port show <name> [--json]
       wopte port create --config <port.json> [--tap <ifname>] [--json]
       wopte port rm <name>
       wopte port pause|resume <name>
options: --api unix:<path>|http(s)://host:port (default $WOPTE_API or the sled's default socket)`;
const CMD = { name: "port", usage: USAGE };

/** A port config file, its errors naming the file. */
export function readPortFile(path: string): unknown {
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (err) {
    throw new Failure(`cannot read the port config ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  try { return JSON.parse(text); } catch (err) {
    throw new Failure(`${path} is not valid JSON (${(err as Error).message}); a port config is one JSON object (see examples/port-a.json)`);
  }
}

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, config: { type: "string" }, tap: { type: "string" } }, 2);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["list", "show", "create", "rm", "pause", "resume"] as const);
  const base = apiBase(values.api);
  const name = () => encodeURIComponent(required(CMD, "<name> of the port (wopte port list shows them)", positionals[1]));
  switch (sub) {
    case "list": {
      const ports = await call<Record<string, unknown>[]>(base, "GET", "/ports");
      if (values.json) printJson(ports);
      else console.log(table(ports, ["name", "id", "vni", "mac", "ipv4", "ipv6", "device", "state", "flows"], { right: ["id", "vni", "flows"] }));
      break;
    }
    case "show": {
      const p = await call<Record<string, unknown>>(base, "GET", `/ports/${name()}`);
      if (values.json) { printJson(p); break; }
      const { config, ...stats } = p as { config?: Record<string, unknown> } & Record<string, unknown>;
      console.log(table(Object.entries(stats).map(([k, v]) => ({ field: k, value: cellText(v) })), ["field", "value"]));
      if (config) console.log(`\nconfig (--json for all of it):\n` + table(Object.entries(config).map(([k, v]) => ({ key: k, value: cellText(v) })), ["key", "value"]));
      break;
    }
    case "create": {
      const config = readPortFile(required(CMD, "--config <port.json>", values.config));
      const device = values.tap ? { type: "tap", name: values.tap } : { type: "memory" };
      const r = await call<{ name: string; id: number }>(base, "POST", "/ports", { config, device });
      if (values.json) printJson(r); else console.log(`created port ${r.name} (id ${r.id})`);
      break;
    }
    case "rm": await call(base, "DELETE", `/ports/${name()}`); console.log(`removed ${positionals[1]}`); break;
    case "pause": case "resume":
      await call(base, "PUT", `/ports/${name()}/state`, { state: sub === "pause" ? "paused" : "running" });
      console.log(`${positionals[1]} ${sub === "pause" ? "paused" : "running"}`);
      break;
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
