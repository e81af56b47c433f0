// `wopte fw list|add|rm <port>`: the port's VPC firewall rules.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded, checked } from "../client.js";
import { FirewallRule } from "../../../layers/vpc/config.js";

const HELP = `usage: wopte fw list <port> [--json]
       wopte fw add <port> --name N --direction in|out --action allow|deny [--priority P]
                    [--proto tcp,udp,icmp] [--ports 80,8000-8080] [--host ip:1.2.3.4|subnet:10.0.0.0/24|vpc:1024]
       wopte fw rm <port> <rule-name>
options: --api <url>`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, json: { type: "boolean" }, name: { type: "string" }, direction: { type: "string" },
    action: { type: "string" }, priority: { type: "string" }, proto: { type: "string" }, ports: { type: "string" },
    host: { type: "string", multiple: true }, help: { type: "boolean" } } });
  const [sub, port, ruleName] = positionals;
  if (values.help || !sub || !port) { console.log(HELP); return values.help ? 0 : 2; }
  const base = apiBase(values.api);
  const path = `/ports/${encodeURIComponent(port)}/firewall`;
  return guarded(async () => {
    if (sub === "list") {
      const rules = await call<Record<string, unknown>[]>(base, "GET", path);
      console.log(values.json ? JSON.stringify(rules, null, 2) : table(rules, ["name", "direction", "priority", "action", "hosts", "protocols", "ports"]));
    } else if (sub === "add") {
      const rule = {
        name: values.name, direction: values.direction, action: values.action,
        priority: values.priority ? Number(values.priority) : undefined,
        protocols: values.proto ? values.proto.split(",") : [],
        ports: values.ports ? values.ports.split(",").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
        hosts: (values.host ?? []).map((h) => {
          const [type, value] = h.split(/:(.*)/s);
          return type === "vpc" ? { type, vni: Number(value) } : type === "instance" ? { type, ips: value.split(",") } : { type, value };
        }),
      };
      await call(base, "POST", path, checked(FirewallRule, rule, "fw add"));
      console.log(`added rule ${values.name} to ${port}`);
    } else if (sub === "rm") {
      if (!ruleName) throw new Error("name the rule to remove");
      await call(base, "DELETE", `${path}/${encodeURIComponent(ruleName)}`);
      console.log(`removed rule ${ruleName} from ${port}`);
    } else {
      console.error(HELP); process.exitCode = 2;
    }
  });
}
