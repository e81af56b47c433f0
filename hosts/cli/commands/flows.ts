// `wopte flows <port>`: the port's flow table, one line per flow.

import { apiBase, call } from "../client.js";
import { parseCommand, required, printJson, guard } from "../conventions.js";
import { table } from "../table.js";
import type { FlowView } from "../../engine/flows.js";

export const USAGE = "usage: wopte flows <port> [--json] [--api <url>]";
const CMD = { name: "flows", usage: USAGE };

const PROTO: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6" };

/** "172.30.0.5:40000 → 10.0.0.1:80" (IPv6 addresses in brackets when a port follows). */
export function endpoints(k: { src: string; sport: number; dst: string; dport: number }): string {
  const at = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  return `${at(k.src, k.sport)} → ${at(k.dst, k.dport)}`;
}

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, { api: { type: "string" }, json: { type: "boolean" } }, 1);
  if (values.help) { console.log(USAGE); return 0; }
  const port = required(CMD, "<port> (wopte port list shows them)", positionals[0]);
  const flows = await call<(FlowView & { allowedBy?: string })[]>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/flows`);
  if (values.json) { printJson(flows); return 0; }
  console.log(table(flows.map((f) => {
    const first = f.origin === "out" ? f.out : f.in;
    return {
      proto: PROTO[first.proto] ?? first.proto,
      flow: `${f.origin === "out" ? "out" : "in"} ${endpoints(first)}`,
      nat: f.nat ? `port ${f.nat.port}` : "-",
      state: first.proto === 6 ? f.tcpState : "-",
      "pkts o/i": `${f.out.pkts}/${f.in.pkts}`, "bytes o/i": `${f.out.bytes}/${f.in.bytes}`,
      rule: f.allowedBy ?? "-",
    };
  })));
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
