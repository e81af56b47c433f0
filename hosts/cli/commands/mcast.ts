// `wopte mcast …`: multicast on a sled — the rack-wide M2P mappings (overlay
// group → underlay group in ff04::/16), the groups each port has joined with
// their IGMPv3/MLDv2-style source filters, the sled's subscriptions, and its
// multicast forwarding table (per underlay group, the next hops that get a
// copy of local senders' frames and the replication each asks of the switch).

import { apiBase, call, checked } from "../client.js";
import { M2pMapping, MulticastJoin } from "../../../layers/vpc/config.js";
import { ForwardingEntry } from "../../sled/multicast.js";
import { parseCommand, choice, required, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = `usage: wopte mcast m2p list [--json]
       wopte mcast m2p set --group <overlay group> --underlay <ff04::/16 group>
       wopte mcast m2p rm --group <overlay group>
       wopte mcast list <port> [--json]
       wopte mcast join <port> --group <group> [--mode include|exclude] [--source <ip>]…
       wopte mcast leave <port> --group <group>
       wopte mcast members [--json]                     (every group local ports joined)
       wopte mcast leave-all --group <group>            (every local port leaves it)
       wopte mcast fwd list [--json]
       wopte mcast fwd set --underlay <ff04::/16 group> --next-hop <switch IPv6>… --replication external|underlay|both
                           [--mode include|exclude] [--source <ip>]…
       wopte mcast fwd clear --underlay <ff04::/16 group>
(join replaces the port's filter for the group; exclude with no sources takes any source, include with none leaves;
 fwd set adds next hops to the group's entry or replaces those named again; --source filters the senders they get)
options: --api <url>`;
const CMD = { name: "mcast", usage: USAGE };

interface Group { group: string; mode: string; sources: string[] }
interface Entry { underlay: string; nextHops: { nextHop: string; vni: number; replication: string; sourceFilter: { mode: string; sources: string[] } }[] }
interface Subscription { group: string; underlay?: string; members: { port: string; mode: string; sources: string[] }[] }

const filterText = (mode: string, sources: string[]) => (sources.length ? `${mode} ${sources.join(",")}` : mode === "exclude" ? "any" : "none");

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, group: { type: "string" }, underlay: { type: "string" },
    mode: { type: "string" }, source: { type: "string", multiple: true }, "next-hop": { type: "string", multiple: true },
    replication: { type: "string" } }, 2);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["m2p", "list", "join", "leave", "members", "leave-all", "fwd"] as const);
  const base = apiBase(values.api);
  const group = () => required(CMD, "--group", values.group);
  const mode = () => choice(CMD, "--mode", values.mode ?? "exclude", ["include", "exclude"] as const);
  const print = (data: unknown, text: () => string) => (values.json ? printJson(data) : console.log(text()));
  if (sub === "m2p") {
    const act = choice(CMD, "m2p action", positionals[1], ["list", "set", "rm"] as const);
    if (act === "list") {
      const list = await call<Record<string, unknown>[]>(base, "GET", "/m2p");
      print(list, () => table(list, ["group", "underlay"]));
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
  if (sub === "members") {
    const subs = await call<Subscription[]>(base, "GET", "/mcast/subscriptions");
    print(subs, () => table(subs.flatMap((s) => s.members.map((m) => ({ group: s.group, underlay: s.underlay, port: m.port, sources: filterText(m.mode, m.sources) }))),
      ["group", "underlay", "port", "sources"]));
    return 0;
  }
  if (sub === "leave-all") {
    const r = await call<{ left: string[] }>(base, "DELETE", `/mcast/subscriptions/${encodeURIComponent(group())}`);
    console.log(r.left.length ? `${r.left.join(", ")} left ${values.group}` : `no port was a member of ${values.group}`);
    return 0;
  }
  if (sub === "fwd") {
    const act = choice(CMD, "fwd action", positionals[1], ["list", "set", "clear"] as const);
    const underlay = () => required(CMD, "--underlay", values.underlay);
    if (act === "list") {
      const entries = await call<Entry[]>(base, "GET", "/mcast/forwarding");
      print(entries, () => table(entries.flatMap((e) => e.nextHops.map((h) => ({ underlay: e.underlay, nextHop: h.nextHop, vni: h.vni,
        replication: h.replication, sources: filterText(h.sourceFilter.mode, h.sourceFilter.sources) }))), ["underlay", "nextHop", "vni", "replication", "sources"]));
    } else if (act === "set") {
      const replication = choice(CMD, "--replication", required(CMD, "--replication", values.replication), ["external", "underlay", "both"] as const);
      const sourceFilter = { mode: mode(), sources: values.source ?? [] };
      const nextHops = required(CMD, "--next-hop", values["next-hop"]).map((nextHop) => ({ nextHop, replication, sourceFilter }));
      const e = await call<Entry>(base, "PUT", "/mcast/forwarding", checked(ForwardingEntry, { underlay: underlay(), nextHops }, "mcast fwd set"));
      console.log(`${e.underlay}: ${e.nextHops.map((h) => `${h.nextHop} (${h.replication})`).join(", ")}`);
    } else {
      const r = await call<{ cleared: string; existed: boolean }>(base, "DELETE", `/mcast/forwarding/${encodeURIComponent(underlay())}`);
      console.log(r.existed ? `cleared the forwarding entry of ${r.cleared}` : `${r.cleared} had no forwarding entry`);
    }
    return 0;
  }
  const port = required(CMD, "<port>", positionals[1]);
  const path = `/ports/${encodeURIComponent(port)}/multicast`;
  if (sub === "list") {
    const groups = await call<Group[]>(base, "GET", path);
    print(groups, () => table(groups.map((g) => ({ ...g, sources: g.sources.join(", ") || (g.mode === "exclude" ? "(any)" : "") })), ["group", "mode", "sources"]));
  } else if (sub === "join") {
    const body = checked(MulticastJoin, { group: group(), mode: mode(), sources: values.source ?? [] }, "mcast join");
    const g = await call<Group>(base, "POST", path, body);
    const left = g.mode === "include" && g.sources.length === 0;
    console.log(left ? `${port} takes no source of ${g.group}: not a member` : `${port} joined ${g.group} (${g.mode} ${g.sources.length ? g.sources.join(", ") : "{}"})`);
  } else {
    const r = await call<{ wasMember: boolean }>(base, "DELETE", `${path}/${encodeURIComponent(group())}`);
    console.log(r.wasMember ? `${port} left ${values.group}` : `${port} was not a member of ${values.group}`);
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
