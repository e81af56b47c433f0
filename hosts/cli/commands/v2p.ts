// `wopte v2p list|set|rm`: virtual-to-physical mappings (rack-wide, per VNI).

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded, checked } from "../client.js";
import { V2pMapping } from "../../../layers/vpc/config.js";
import { ip, vni } from "../../../layers/program/fields.js";
import { z } from "zod";

const HELP = `usage: wopte v2p list [--json]
       wopte v2p set --vni N --ip <guest ip> --mac <guest mac> --underlay <sled ipv6>
       wopte v2p rm --vni N --ip <guest ip>
options: --api <url>`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, json: { type: "boolean" }, vni: { type: "string" }, ip: { type: "string" },
    mac: { type: "string" }, underlay: { type: "string" }, help: { type: "boolean" } } });
  const [sub] = positionals;
  if (values.help || !sub) { console.log(HELP); return values.help ? 0 : 2; }
  const base = apiBase(values.api);
  return guarded(async () => {
    if (sub === "list") {
      const list = await call<Record<string, unknown>[]>(base, "GET", "/v2p");
      console.log(values.json ? JSON.stringify(list, null, 2) : table(list, ["vni", "ip", "mac", "underlay"]));
    } else if (sub === "set") {
      const m = checked(V2pMapping.required({ vni: true }), { vni: Number(values.vni), ip: values.ip, mac: values.mac, underlay: values.underlay }, "v2p set");
      await call(base, "PUT", "/v2p", m);
      console.log(`${values.ip} on VNI ${values.vni} → ${values.underlay} (${values.mac})`);
    } else if (sub === "rm") {
      const m = checked(z.object({ vni, ip }), { vni: Number(values.vni), ip: values.ip }, "v2p rm");
      await call(base, "DELETE", `/v2p/${m.vni}/${encodeURIComponent(m.ip)}`);
      console.log(`removed ${values.ip} on VNI ${values.vni}`);
    } else {
      console.error(HELP); process.exitCode = 2;
    }
  });
}
