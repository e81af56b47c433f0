// `wopte flows <port>`: the port's flow table, one line per flow.

import { parseArgs } from "node:util";
import { apiBase, call, table, guarded } from "../client.js";
import type { FlowView } from "../../engine/flows.js";

const PROTO: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6" };

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { api: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  const [port] = positionals;
  if (values.help || !port) { console.log("usage: wopte flows <port> [--json] [--api <url>]"); return values.help ? 0 : 2; }
  return guarded(async () => {
    const flows = await call<FlowView[]>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/flows`);
    if (values.json) { console.log(JSON.stringify(flows, null, 2)); return; }
    console.log(table(flows.map((f) => ({
      proto: PROTO[f.out.proto] ?? f.out.proto,
      out: `${f.out.src}:${f.out.sport} → ${f.out.dst}:${f.out.dport}`,
      in: `${f.in.src}:${f.in.sport} → ${f.in.dst}:${f.in.dport}`,
      origin: f.origin, tcp: f.out.proto === 6 ? f.tcpState : "-",
      nat: f.nat ? `pool ${f.nat.pool} port ${f.nat.port}` : "-",
      "pkts out/in": `${f.out.pkts}/${f.in.pkts}`, "bytes out/in": `${f.out.bytes}/${f.in.bytes}`,
    }))));
  });
}
