// `wopte mcast …`: multicast on a sled — the rack-wide M2P mappings (overlay
// group → underlay group in ff04::/16) and the groups each port has joined,
// with their IGMPv3/MLDv2-style source filters.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded, checked } from "../client.js";
import { M2pMapping, MulticastGroup } from "../../../layers/vpc/config.js";

const HELP = `usage: wopte mcast m2p list [--json]
       wopte mcast m2p set --group <overlay group> --underlay <ff04::/16 group>
       wopte mcast m2p rm --group <overlay group>
       wopte mcast list <port> [--json]
       wopte mcast join <port> --group <group> [--mode include|exclude] [--source <ip>]…
       wopte mcast leave <port> --group <group>
(join replaces the port's filter for the group; exclude with no sources takes any source)
options: --api <url>`;

interface Group { group: string; mode: string; sources: string[] }

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, json: { type: "boolean" }, group: { type: "string" }, underlay: { type: "string" },
    mode: { type: "string" }, source: { type: "string", multiple: true }, help: { type: "boolean" } } });
  const [sub, arg] = positionals;
  if (values.help || !sub) { console.log(HELP); return values.help ? 0 : 2; }
  const base = apiBase(values.api);
  const port = (name: string | undefined) => `/ports/${encodeURIComponent(name ?? "")}/multicast`;
  return guarded(async () => {
    if (sub === "m2p" && arg === "list") {
      const list = await call<Record<string, unknown>[]>(base, "GET", "/m2p");
      console.log(values.json ? JSON.stringify(list, null, 2) : table(list, ["group", "underlay"]));
    } else if (sub === "m2p" && arg === "set") {
      await call(base, "PUT", "/m2p", checked(M2pMapping, { group: values.group, underlay: values.underlay }, "m2p set"));
      console.log(`${values.group} → ${values.underlay} (VNI 77)`);
    } else if (sub === "m2p" && arg === "rm") {
      await call(base, "DELETE", `/m2p/${encodeURIComponent(values.group ?? "")}`);
      console.log(`removed the M2P mapping of ${values.group}`);
    } else if (sub === "list" && arg) {
      const groups = await call<Group[]>(base, "GET", port(arg));
      if (values.json) { console.log(JSON.stringify(groups, null, 2)); return; }
      console.log(table(groups.map((g) => ({ ...g, sources: g.sources.join(",") || (g.mode === "exclude" ? "(any)" : "") })), ["group", "mode", "sources"]));
    } else if (sub === "join" && arg) {
      const g = await call<Group>(base, "POST", port(arg), checked(MulticastGroup, { group: values.group, mode: values.mode ?? "exclude", sources: values.source ?? [] }, "mcast join"));
      console.log(`${arg} joined ${g.group} (${g.mode} ${g.sources.length ? g.sources.join(", ") : "{}"})`);
    } else if (sub === "leave" && arg) {
      await call(base, "DELETE", `${port(arg)}/${encodeURIComponent(values.group ?? "")}`);
      console.log(`${arg} left ${values.group}`);
    } else {
      console.error(HELP); process.exitCode = 2;
    }
  });
}
