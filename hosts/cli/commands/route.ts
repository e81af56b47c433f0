// `wopte route list|add|rm <port>`: the port's custom routes.

import { apiBase, call, checked } from "../client.js";
import { Route } from "../../../layers/vpc/config.js";
import { cidr } from "../../../layers/program/fields.js";
import { parseCommand, choice, required, numberOption, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = `usage: wopte route list <port> [--json]
       wopte route add <port> --dest <prefix> --target igw[:id]|drop|subnet|instance:<ip>
       wopte route rm <port> --dest <prefix>
options: --api <url>`;
const CMD = { name: "route", usage: USAGE };
const TARGETS = ["igw", "igw:<id>", "drop", "subnet", "instance:<ip>"];

/** `--target` as the config's route target; refused with the valid forms. */
function target(s: string): unknown {
  const [kind, arg] = s.split(/:(.*)/s);
  choice(CMD, `--target "${s}": kind`, kind, ["igw", "drop", "subnet", "instance"] as const);
  switch (kind) {
    case "igw": return { type: "internetGateway", id: numberOption(CMD, "--target igw:<id>", arg, { min: 0, max: 255, integer: true, fallback: 0 }) };
    case "drop": case "subnet":
      if (arg !== undefined) choice(CMD, "--target", s, TARGETS);
      return kind === "drop" ? { type: "drop" } : { type: "vpcSubnet" };
    default: return { type: "instance", ip: required(CMD, "the instance's address in --target instance:<ip>", arg) };
  }
}

/** A route target as `--target` takes it. */
function targetText(t: { type: string; id?: number; ip?: string }): string {
  return t.type === "internetGateway" ? `igw:${t.id ?? 0}` : t.type === "instance" ? `instance:${t.ip}` : t.type === "vpcSubnet" ? "subnet" : t.type;
}

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, dest: { type: "string" }, target: { type: "string" } }, 2);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["list", "add", "rm"] as const);
  const port = required(CMD, "<port>", positionals[1]);
  const base = apiBase(values.api);
  const path = `/ports/${encodeURIComponent(port)}/routes`;
  if (sub === "list") {
    const routes = await call<{ dest: string; target: { type: string } }[]>(base, "GET", path);
    if (values.json) printJson(routes);
    else console.log(table(routes.map((r) => ({ dest: r.dest, target: targetText(r.target) }))));
  } else if (sub === "add") {
    const route = checked(Route, { dest: required(CMD, "--dest <prefix>", values.dest), target: target(required(CMD, `--target (${TARGETS.join(", ")})`, values.target)) }, "route add");
    await call(base, "POST", path, route);
    console.log(`route ${route.dest} → ${values.target} on ${port}`);
  } else {
    const dest = checked(cidr, required(CMD, "--dest <prefix>", values.dest), "route rm --dest");
    await call(base, "DELETE", `${path}?dest=${encodeURIComponent(dest)}`);
    console.log(`removed route ${dest} from ${port}`);
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
