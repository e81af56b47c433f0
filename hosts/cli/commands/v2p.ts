// `wopte v2p list|set|rm`: virtual-to-physical mappings (rack-wide, per VNI).

import { apiBase, call, checked } from "../client.js";
import { V2pMapping } from "../../../layers/vpc/config.js";
import { ip, vni } from "../../../layers/program/fields.js";
import { z } from "zod";
import { parseCommand, choice, required, numberOption, printJson, guard } from "../conventions.js";
import { table } from "../table.js";

export const USAGE = `usage: wopte v2p list [--json]
       wopte v2p set --vni N --ip <guest ip> --mac <guest mac> --underlay <sled ipv6>
       wopte v2p rm --vni N --ip <guest ip>
options: --api <url>`;
const CMD = { name: "v2p", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, json: { type: "boolean" }, vni: { type: "string" }, ip: { type: "string" },
    mac: { type: "string" }, underlay: { type: "string" } }, 1);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["list", "set", "rm"] as const);
  const base = apiBase(values.api);
  const vniOf = () => numberOption(CMD, "--vni", required(CMD, "--vni", values.vni), { min: 0, max: 0xffffff, integer: true });
  if (sub === "list") {
    const list = await call<Record<string, unknown>[]>(base, "GET", "/v2p");
    if (values.json) printJson(list);
    else console.log(table(list, ["vni", "ip", "mac", "underlay"], { right: ["vni"] }));
  } else if (sub === "set") {
    const m = checked(V2pMapping.required({ vni: true }), {
      vni: vniOf(), ip: required(CMD, "--ip", values.ip), mac: required(CMD, "--mac", values.mac), underlay: required(CMD, "--underlay", values.underlay),
    }, "v2p set");
    await call(base, "PUT", "/v2p", m);
    console.log(`${m.ip} on VNI ${m.vni} → ${m.underlay} (${m.mac})`);
  } else {
    const m = checked(z.object({ vni, ip }), { vni: vniOf(), ip: required(CMD, "--ip", values.ip) }, "v2p rm");
    await call(base, "DELETE", `/v2p/${m.vni}/${encodeURIComponent(m.ip)}`);
    console.log(`removed ${m.ip} on VNI ${m.vni}`);
  }
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
