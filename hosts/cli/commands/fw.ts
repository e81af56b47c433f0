// `wopte fw list|add|rm <port>`: the port's VPC firewall rules.

import { apiBase, call, checked } from "../client.js";
import { FirewallRule, type FirewallRuleConfig } from "../../../layers/vpc/config.js";
import { parseCommand, choice, required, numberOption, printJson, UsageError, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = `usage: wopte fw list <port> [--json]
       wopte fw add <port> --name N --direction in|out --action allow|deny [--priority P]
                    [--proto tcp,udp,icmp] [--ports 80,8000-8080] [--host ip:1.2.3.4|subnet:10.0.0.0/24|vpc:1024|instance:ip,ip]
       wopte fw rm <port> <rule-name>
options: --api <url>`;
const CMD = { name: "fw", usage: USAGE };

/** A host filter as `fw add --host` takes it. */
function hostText(h: FirewallRuleConfig["hosts"][number]): string {
  return h.type === "vpc" ? `vpc:${h.vni}` : h.type === "instance" ? `instance:${h.ips.join(",")}` : `${h.type}:${h.value}`;
}

/** A protocol as people write it: "tcp", "icmp 8/0" (type/code). */
function protoText(p: FirewallRuleConfig["protocols"][number]): string {
  if (typeof p === "string") return p;
  const [name, tc] = Object.entries(p)[0] as [string, { type: number; code?: number }];
  return `${name} ${tc.type}${tc.code !== undefined ? `/${tc.code}` : ""}`;
}

/** One rule as a table row: empty filters read "any". */
export function firewallRow(r: FirewallRuleConfig): Record<string, string | number> {
  return {
    name: r.name, dir: r.direction, prio: r.priority, action: r.action,
    hosts: r.hosts.map(hostText).join(", ") || "any",
    protocols: r.protocols.map(protoText).join(", ") || "any",
    ports: r.ports.join(", ") || "any",
  };
}

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, name: { type: "string" }, direction: { type: "string" },
    action: { type: "string" }, priority: { type: "string" }, proto: { type: "string" }, ports: { type: "string" },
    host: { type: "string", multiple: true } }, 3);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["list", "add", "rm"] as const);
  const port = required(CMD, "<port>", positionals[1]);
  const base = apiBase(values.api);
  const path = `/ports/${encodeURIComponent(port)}/firewall`;
  if (sub === "list") {
    const rules = await call<FirewallRuleConfig[]>(base, "GET", path);
    if (values.json) printJson(rules);
    else console.log(table(rules.map(firewallRow), ["name", "dir", "prio", "action", "hosts", "protocols", "ports"], { right: ["prio"], titles: { protocols: "PROTO" } }));
  } else if (sub === "add") {
    const rule = checked(FirewallRule, {
      name: required(CMD, "--name", values.name),
      direction: choice(CMD, "--direction", values.direction, ["in", "out"] as const),
      action: choice(CMD, "--action", values.action, ["allow", "deny"] as const),
      priority: numberOption(CMD, "--priority", values.priority, { min: 0, max: 65535, integer: true }),
      protocols: values.proto ? values.proto.split(",") : [],
      ports: values.ports ? values.ports.split(",").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
      hosts: (values.host ?? []).map((h) => {
        const [type, value = ""] = h.split(/:(.*)/s);
        choice(CMD, `--host kind in "${h}"`, type, ["ip", "subnet", "vpc", "instance"] as const);
        return type === "vpc" ? { type, vni: Number(value) } : type === "instance" ? { type, ips: value.split(",") } : { type, value };
      }),
    }, "fw add");
    await call(base, "POST", path, rule);
    console.log(`added rule ${rule.name} to ${port}`);
  } else {
    const ruleName = positionals[2];
    if (!ruleName) throw new UsageError("fw rm: name the rule to remove (wopte fw list <port> shows them)");
    await call(base, "DELETE", `${path}/${encodeURIComponent(ruleName)}`);
    console.log(`removed rule ${ruleName} from ${port}`);
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
