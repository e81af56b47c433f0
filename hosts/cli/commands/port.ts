// `wopte port list|create|rm|show|pause|resume` over the sled API.

import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { apiBase, call, table, guarded } from "../client.js";

const HELP = `usage: wopte port list [--json]
       wopte port show <name> [--json]
       wopte port create --config <port.json> [--tap <ifname>]
       wopte port rm <name>
       wopte port pause|resume <name>
options: --api unix:<path>|http(s)://host:port (default $WOPTE_API or the sled's default socket)`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, json: { type: "boolean" }, config: { type: "string" }, tap: { type: "string" }, help: { type: "boolean" } } });
  const [sub, name] = positionals;
  const base = apiBase(values.api);
  if (values.help || !sub) { console.log(HELP); return values.help ? 0 : 2; }
  return guarded(async () => {
    switch (sub) {
      case "list": {
        const ports = await call<Record<string, unknown>[]>(base, "GET", "/ports");
        console.log(values.json ? JSON.stringify(ports, null, 2) : table(ports, ["name", "id", "vni", "mac", "ipv4", "ipv6", "device", "state", "flows"]));
        break;
      }
      case "show": {
        const p = await call(base, "GET", `/ports/${encodeURIComponent(need(name))}`);
        console.log(JSON.stringify(p, null, 2));
        break;
      }
      case "create": {
        if (!values.config) throw new Error("create needs --config <port.json>");
        const config = JSON.parse(readFileSync(values.config, "utf8"));
        const device = values.tap ? { type: "tap", name: values.tap } : { type: "memory" };
        const r = await call<{ name: string; id: number }>(base, "POST", "/ports", { config, device });
        console.log(values.json ? JSON.stringify(r) : `created port ${r.name} (id ${r.id})`);
        break;
      }
      case "rm": await call(base, "DELETE", `/ports/${encodeURIComponent(need(name))}`); console.log(`removed ${name}`); break;
      case "pause": case "resume":
        await call(base, "PUT", `/ports/${encodeURIComponent(need(name))}/state`, { state: sub === "pause" ? "paused" : "running" });
        console.log(`${name} ${sub === "pause" ? "paused" : "running"}`);
        break;
      default: console.error(HELP); process.exitCode = 2;
    }
  });
}

function need(name: string | undefined): string {
  if (!name) throw new Error("name the port");
  return name;
}
