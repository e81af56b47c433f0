// `wopte mcast …`: multicast on a sled — the rack-wide M2P mappings (overlay
// group → underlay group in ff04::/16) and the groups each port has joined,
// with their IGMPv3/MLDv2-style source filters.

import { apiBase, call, checked } from "../client.js";
import { M2pMapping, MulticastGroup } from "../../../layers/vpc/config.js";
import { parseCommand, choice, required, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = `usage: wopte mcast m2p list [--json]
       wopte mcast m2p set --group <overlay group> --underlay <ff04::/16 group>
       wopte mcast m2p rm --group <overlay group>
       wopte mcast list <port> [--json]
       wopte mcast join <port> --group <group> [--mode include|exclude] [--source <ip>]…
       wopte mcast leave <port> --group <group>
(join replaces the port's filter for the group; exclude with no sources takes any source)
options: --api <url>`;
const CMD = { name: "mcast", usage: USAGE };

interface Group { group: string; mode: string; sources: string[] }

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, group: { type: "string" }, underlay: { type: "string" },
    mode: { type: "string" }, source: { type: "string", multiple: true } }, 2);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["m2p", "list", "join", "leave"] as const);
  const base = apiBase(values.api);
  const group = () => required(CMD, "--group", values.group);
  if (sub === "m2p") {
    const act = choice(CMD, "m2p action", positionals[1], ["list", "set", "rm"] as const);
    if (act === "list") {
      const list = await call<Record<string, unknown>[]>(base, "GET", "/m2p");
      if (values.json) printJson(list); else console.log(table(list, ["group", "underlay"]));
    } else if (act === "set") {
      const m = checked(M2pMapping, { group: group(), underlay: required(CMD, "--underlay", values.underlay) }, "m2p set");
      await call(base, "PUT", "/m2p", m);
      console.log(`${m.group} → ${m.underlay} (VNI 77)`);
    } else {
      await call(base, "DELETE", `/m2p/${encodeURIComponent(group())}`);
      console.log(`removed the M2P mapping of ${values.group}`);
    }
    return 0;
  }
  const port = required(CMD, "<port>", positionals[1]);
  const path = `/ports/${encodeURIComponent(port)}/multicast`;
  if (sub === "list") {
    const groups = await call<Group[]>(base, "GET", path);
    if (values.json) printJson(groups);
    else console.log(table(groups.map((g) => ({ ...g, sources: g.sources.join(", ") || (g.mode === "exclude" ? "(any)" : "") })), ["group", "mode", "sources"]));
  } else if (sub === "join") {
    const body = checked(MulticastGroup, {
      group: group(), mode: choice(CMD, "--mode", values.mode ?? "exclude", ["include", "exclude"] as const), sources: values.source ?? [],
    }, "mcast join");
    const g = await call<Group>(base, "POST", path, body);
    console.log(`${port} joined ${g.group} (${g.mode} ${g.sources.length ? g.sources.join(", ") : "{}"})`);
  } else {
    await call(base, "DELETE", `${path}/${encodeURIComponent(group())}`);
    console.log(`${port} left ${values.group}`);
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
