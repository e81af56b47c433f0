// The rack-in-a-box topology: a documented JSON file (examples/rack.json)
// that says which VPCs, sleds, guests and traffic there are. The rack turns
// each guest into a VPC port config (filling in what a control plane would:
// sled underlay, boundary services, V2P mappings of the VPC's other guests)
// and the gateway's NAT ingress table from the guests' external IPs.

import { z } from "zod";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";
import { ConfigError, FirewallRule } from "../../layers/vpc/config.js";
import type { NatIngressEntry } from "../../layers/boundary/boundary.js";
import type { Traffic } from "./endpoint.js";

const mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/);
const TrafficSpec = z.union([
  z.object({ kind: z.literal("ping"), to: z.string(), everyMs: z.number().positive().default(200) }),
  z.object({ kind: z.literal("bulk"), to: z.string(), port: z.number().int(), mbps: z.number().positive() }),
  z.object({ kind: z.literal("short"), to: z.string(), port: z.number().int(), perSecond: z.number().positive() }),
  z.object({ kind: z.literal("probe"), to: z.string(), port: z.number().int(), everyMs: z.number().positive().default(500) }),
]);

export const TopologySchema = z.object({
  description: z.string().optional(),
  vpcs: z.array(z.object({ name: z.string(), vni: z.number().int(), subnet4: z.string(), gateway: z.object({ mac, ipv4: z.string() }) })).min(1),
  boundary: z.object({
    underlay: z.string(), externalMac: mac, routerMac: mac, ownedPrefixes: z.array(z.string()).min(1), externalIpv4: z.string(),
  }),
  external: z.object({ server: z.object({ ip: z.string(), traffic: z.array(TrafficSpec).default([]) }) }),
  sleds: z.array(z.object({
    name: z.string(), underlay: z.string(),
    guests: z.array(z.object({
      name: z.string(), vpc: z.string(), mac, ipv4: z.string(),
      externalIps: z.object({
        snat: z.object({ ip: z.string(), firstPort: z.number().int(), lastPort: z.number().int() }).optional(),
        floating: z.array(z.string()).default([]),
      }).default({ floating: [] }),
      firewall: z.array(FirewallRule).default([]),
      bandwidth: z.object({ outMbps: z.number().positive().optional(), inMbps: z.number().positive().optional() }).optional(),
      traffic: z.array(TrafficSpec).default([]),
    })),
  })).min(1),
});
export type Topology = z.output<typeof TopologySchema>;

/** A topology file that does not match the schema, every problem with its path. */
export class TopologyError extends ConfigError {
  constructor(file: string, issues: { path: string; message: string }[]) {
    super(issues);
    this.message = `invalid topology ${file}:\n${issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`).join("\n")}`;
  }
}

export function loadTopology(path?: string): Topology {
  const file = path ?? join(packageRoot(), "examples", "rack.json");
  let json: unknown;
  try { json = JSON.parse(readFileSync(file, "utf8")); } catch (e) { throw new Error(`cannot read ${file}: ${(e as Error).message}`); }
  const r = TopologySchema.safeParse(json);
  if (!r.success) throw new TopologyError(file, r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  return r.data;
}

/** A guest's port config and what its simulated guest needs to know. */
export interface GuestPort { name: string; json: unknown; traffic: Traffic[]; mac: string; ip: string; gatewayIp: string }

/** Each sled's port configs, as a control plane would hand them to the sleds. */
export function portConfigs(t: Topology): Map<string, GuestPort[]> {
  const vpc = new Map(t.vpcs.map((v) => [v.name, v]));
  const everyone = t.sleds.flatMap((s) => s.guests.map((g) => ({ ...g, sled: s })));
  const out = new Map<string, GuestPort[]>();
  for (const s of t.sleds) {
    out.set(s.name, s.guests.map((g) => {
      const v = vpc.get(g.vpc);
      if (!v) throw new ConfigError([{ path: `sleds.${s.name}.guests.${g.name}.vpc`, message: `no VPC named ${g.vpc}` }]);
      const json = {
        name: g.name, vni: v.vni,
        guest: { mac: g.mac, ipv4: g.ipv4 }, subnet: { ipv4: v.subnet4 }, gateway: { mac: v.gateway.mac, ipv4: v.gateway.ipv4 },
        sled: { underlay: s.underlay, mac: "02:08:20:00:00:01", nextHopMac: "02:08:20:ff:ff:01", mtu: 9000 },
        boundary: { underlay: t.boundary.underlay, vni: 99 },
        externalIps: g.externalIps,
        firewall: g.firewall,
        routes: [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }],
        v2p: everyone.filter((o) => o.vpc === g.vpc && o.name !== g.name).map((o) => ({ ip: o.ipv4, mac: o.mac, underlay: o.sled.underlay })),
        ...(g.bandwidth ? { bandwidth: { ...g.bandwidth, classes: [] } } : {}),
        // the demo's short flows come and go quickly: keep closed ones briefly
        ttlMs: { tcpClosed: 1000, tcpClosing: 2000, udp: 10_000, icmp: 5000 },
        limits: { flows: 16384 },
      };
      return { name: g.name, json, traffic: g.traffic as Traffic[], mac: g.mac, ip: g.ipv4, gatewayIp: v.gateway.ipv4 };
    }));
  }
  return out;
}

/** The gateway's NAT ingress table from every guest's external IPs. */
export function natEntries(t: Topology): NatIngressEntry[] {
  const vpc = new Map(t.vpcs.map((v) => [v.name, v]));
  return t.sleds.flatMap((s) => s.guests.flatMap((g) => {
    const vni = vpc.get(g.vpc)!.vni;
    const e: NatIngressEntry[] = g.externalIps.floating.map((ip) => ({ ip, firstPort: 0, lastPort: 65535, sled: s.underlay, vni, mac: g.mac }));
    if (g.externalIps.snat) e.push({ ip: g.externalIps.snat.ip, firstPort: g.externalIps.snat.firstPort, lastPort: g.externalIps.snat.lastPort, sled: s.underlay, vni, mac: g.mac });
    return e;
  }));
}
