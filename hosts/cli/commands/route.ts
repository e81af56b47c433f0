// `wopte route list|add|rm <port>`: the port's custom routes.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded, checked } from "../client.js";
import { Route } from "../../../layers/vpc/config.js";
import { cidr } from "../../../layers/program/fields.js";

const HELP = `usage: wopte route list <port> [--json]
       wopte route add <port> --dest <prefix> --target igw[:id]|drop|subnet|instance:<ip>
       wopte route rm <port> --dest <prefix>
options: --api <url>`;

function target(s: string): unknown {
  const [kind, arg] = s.split(/:(.*)/s);
  switch (kind) {
    case "igw": return { type: "internetGateway", id: arg ? Number(arg) : 0 };
    case "drop": return { type: "drop" };
    case "subnet": return { type: "vpcSubnet" };
    case "instance": return { type: "instance", ip: arg };
  }
  throw new Error(`unknown route target ${s}`);
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, json: { type: "boolean" }, dest: { type: "string" }, target: { type: "string" }, help: { type: "boolean" } } });
  const [sub, port] = positionals;
  if (values.help || !sub || !port) { console.log(HELP); return values.help ? 0 : 2; }
  const base = apiBase(values.api);
  const path = `/ports/${encodeURIComponent(port)}/routes`;
  return guarded(async () => {
    if (sub === "list") {
      const routes = await call<{ dest: string; target: { type: string } }[]>(base, "GET", path);
      console.log(values.json ? JSON.stringify(routes, null, 2) : table(routes.map((r) => ({ dest: r.dest, target: r.target.type, detail: r.target }))));
    } else if (sub === "add") {
      if (!values.dest || !values.target) throw new Error("add needs --dest and --target");
      await call(base, "POST", path, checked(Route, { dest: values.dest, target: target(values.target) }, "route add"));
      console.log(`route ${values.dest} → ${values.target} on ${port}`);
    } else if (sub === "rm") {
      if (!values.dest) throw new Error("rm needs --dest");
      checked(cidr, values.dest, "route rm --dest");
      await call(base, "DELETE", `${path}?dest=${encodeURIComponent(values.dest)}`);
      console.log(`removed route ${values.dest} from ${port}`);
    } else {
      console.error(HELP); process.exitCode = 2;
    }
  });
}
