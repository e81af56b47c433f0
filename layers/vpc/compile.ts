// Compiling a VPC port config into what the engine runs: the port's
// configuration numbers, its rule program (gateway, firewall, router, nat,
// overlay — in outbound order), its SNAT pool and the mapping-table entries
// it needs: data, which hosts hand to the engine (hosts/engine/apply-port.ts).

import { encodePortProgram, LayerDef, encodeLayer } from "../program/encode.js";
import type { PortConfig } from "../program/port-config.js";
import { parsePortConfig, VpcPortConfig } from "./config.js";
import { gatewayLayer } from "./gateway.js";
import { firewallLayer } from "./firewall.js";
import { routerLayer } from "./router.js";
import { natLayer, externalIpsOf } from "./nat.js";
import { overlayLayer } from "./overlay.js";
import { TABLE } from "./constants.js";
import { bandwidthLayer, meterSettings, MeterSetting } from "./bandwidth.js";
import { MULTICAST_VNI, groupMac } from "./multicast.js";

export const LAYER_ORDER = ["gateway", "firewall", "router", "nat", "overlay", "bandwidth"] as const;

export interface MappingEntry {
  table: number; vni: number; ip: string; portLo: number; portHi: number;
  target: { encapVni: number; underlay: string; mac: string };
}

export interface CompiledPort {
  config: VpcPortConfig;
  engineConfig: PortConfig;
  layers: LayerDef[];
  program: Uint8Array;
  natPools: { pool: number; ip: string; firstPort: number; lastPort: number }[];
  mappings: MappingEntry[];
  meters: MeterSetting[];
}

export function compileLayers(c: VpcPortConfig): LayerDef[] {
  const router = routerLayer(c);
  const layers = [gatewayLayer(c), firewallLayer(c), router.layer, natLayer(c), overlayLayer(c, router.instanceTargets)];
  // Flow classes are decided after every other layer: outbound last, inbound first.
  const bw = bandwidthLayer(c);
  return bw ? [...layers, bw] : layers;
}

export function compilePort(json: unknown): CompiledPort {
  const c = parsePortConfig(json);
  const layers = compileLayers(c);
  const mappings: MappingEntry[] = c.v2p.map((m) => ({
    table: TABLE.v2p, vni: m.vni ?? c.vni, ip: m.ip, portLo: 0, portHi: 65535,
    target: { encapVni: m.vni ?? c.vni, underlay: m.underlay, mac: m.mac },
  }));
  for (const m of c.m2p) mappings.push(m2pEntry(m.group, m.underlay));
  if (c.boundary) {
    mappings.push({ table: TABLE.boundary, vni: 0, ip: "::", portLo: 0, portHi: 0,
      target: { encapVni: c.boundary.vni, underlay: c.boundary.underlay, mac: c.boundary.mac } });
  }
  return {
    config: c,
    engineConfig: {
      vni: c.vni, flowCapacity: c.limits.flows, netEncap: true, underlayIp: c.sled.underlay,
      underlayMac: c.sled.mac, nextHopMac: c.sled.nextHopMac, mtu: c.sled.mtu, ttl: c.ttlMs,
      // the virtual gateway tells the guest when a packet is too big for the underlay
      icmpErrors: { mac: c.gateway.mac, ipv4: c.gateway.ipv4, ipv6: c.gateway.ipv6,
        perSecond: c.limits.icmpErrorsPerSecond, burst: c.limits.icmpErrorBurst },
    },
    layers,
    program: encodePortProgram(layers),
    natPools: externalIpsOf(c).snat.map((s) => ({ pool: s.pool, ip: s.ip, firstPort: s.firstPort, lastPort: s.lastPort })),
    mappings,
    meters: meterSettings(c),
  };
}

/** The M2P table entry for a group: found by (VNI 0, group), sent on VNI 77 to the underlay group (its MAC for dumps). */
export function m2pEntry(group: string, underlay: string): MappingEntry {
  return { table: TABLE.m2p, vni: 0, ip: group, portLo: 0, portHi: 65535,
    target: { encapVni: MULTICAST_VNI, underlay, mac: groupMac(underlay) } };
}

/** The program bytes of one layer of a compiled port (for replacing just that layer). */
export function layerBytes(p: CompiledPort, name: (typeof LAYER_ORDER)[number]): Uint8Array {
  const l = p.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return encodeLayer(l);
}
