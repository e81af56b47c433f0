// Boundary services as a rule program (RFD 63 "Boundary Services"; the NAT
// ingress of Oxide's switch, dendrite): the gateway host runs the same engine
// with one port whose guest side is the external network and whose network
// side is the rack's Geneve underlay.
//
// From the external side: a packet to an external IP (floating/ephemeral: the
// whole address; SNAT: address plus port range) is looked up in the NAT
// ingress table and Geneve-encapsulated to the sled that owns it, with the
// guest's VNI, the guest's MAC as inner destination and the Oxide External
// option. No mapping: dropped and counted (NoEncapTarget). ARP for the
// external addresses is answered with the gateway's external MAC.
//
// From the rack: Geneve on the boundary VNI is decapsulated and sent to the
// external next hop, but only when the sled sending it owns the inner source
// (external IP and port) — a sled cannot speak for another sled's addresses.
// The mapping table is the only state: per-connection state lives on sleds.

import type { LayerDef, Rule } from "../program/encode.js";
import { HairpinKind, encodeArpParams, encodeIcmp4ErrorParams, encodeIcmp6ErrorParams, encodeNdpNeighborAdvertParams } from "../program/hairpin-params.js";
import { TABLE, BOUNDARY_VNI, ETHERTYPE } from "../vpc/constants.js";
import { Reason } from "../../abi/reason.js";
import { isV4 } from "../program/addr.js";

export interface NatIngressEntry {
  /** External IP (v4 or v6). */
  ip: string;
  /** Inclusive L4 port range (ICMP echo identifiers count as ports). 0-65535 for floating/ephemeral. */
  firstPort: number;
  lastPort: number;
  /** The sled that hosts the guest, its VPC VNI and the guest's MAC. */
  sled: string;
  vni: number;
  mac: string;
}

export interface BoundaryConfig {
  /** The gateway host's MAC on the external network. */
  externalMac: string;
  /** The external next hop (customer router) MAC. */
  nextHopMac: string;
  /** External address ranges this gateway owns and answers ARP for. */
  ownedPrefixes: string[];
  vni?: number;
  /** The gateway's own external addresses: source of the ICMP errors it sends. */
  externalIpv4?: string;
  externalIpv6?: string;
  /** Underlay MTU towards the sleds (default 9000). */
  underlayMtu?: number;
  nat: NatIngressEntry[];
}

/** Geneve over IPv6 with the Oxide option costs this much beyond the inner frame's IP packet. */
export const ENCAP_OVERHEAD = 40 + 8 + 8 + 4 + 14;

export function boundaryLayer(c: BoundaryConfig): LayerDef {
  const rules: Rule[] = [];
  let id = 1;
  const v4Owned = c.ownedPrefixes.filter(isV4);
  // External side (out): ARP for owned addresses, then NAT ingress.
  if (v4Owned.length) {
    rules.push({ id: id++, dir: "out", priority: 10, predicates: [{ field: "arpOp", values: [1] }, { field: "arpTargetIp", prefixes: v4Owned }],
      action: { kind: "hairpin", hairpin: HairpinKind.ArpReply, params: encodeArpParams({ gatewayMac: c.externalMac, gatewayIp: "0.0.0.0" }) } });
  }
  rules.push({ id: id++, dir: "out", priority: 11, predicates: [{ field: "etherType", values: [ETHERTYPE.arp] }], action: { kind: "deny" } });
  // Neighbor solicitations for owned IPv6 ranges get the gateway's MAC (proxy NDP).
  const v6Owned = c.ownedPrefixes.filter((p) => !isV4(p));
  if (v6Owned.length) {
    rules.push({ id: id++, dir: "out", priority: 12, predicates: [{ field: "proto", values: [58] }, { field: "icmpType", values: [135] }, { field: "ndpTarget", prefixes: v6Owned }],
      action: { kind: "hairpin", hairpin: HairpinKind.NdpNeighborAdvert, params: encodeNdpNeighborAdvertParams({ gatewayMac: c.externalMac, gatewayIp: "::" }) } });
  }
  // Too big to encapsulate: tell the sender (fragmentation needed / packet too big),
  // rather than dropping silently as a switch would.
  const maxInner = (c.underlayMtu ?? 9000) - ENCAP_OVERHEAD;
  if (c.externalIpv4) {
    rules.push({ id: id++, dir: "out", priority: 15, predicates: [{ field: "ipVersion", values: [4] }, { field: "ipLength", values: [[maxInner + 1, 65535]] }],
      action: { kind: "hairpin", hairpin: HairpinKind.Icmp4Error, params: encodeIcmp4ErrorParams({ gatewayMac: c.externalMac, gatewayIp: c.externalIpv4, type: 3, code: 4, mtu: maxInner }) } });
  }
  if (c.externalIpv6) {
    rules.push({ id: id++, dir: "out", priority: 15, predicates: [{ field: "ipVersion", values: [6] }, { field: "ipLength", values: [[maxInner + 1, 65535]] }],
      action: { kind: "hairpin", hairpin: HairpinKind.Icmp6Error, params: encodeIcmp6ErrorParams({ gatewayMac: c.externalMac, gatewayIp: c.externalIpv6, type: 2, code: 0, mtu: maxInner }) } });
  }
  rules.push({ id: id++, dir: "out", priority: 20, predicates: [{ field: "ipVersion", values: [4, 6] }],
    action: { kind: "encap", table: TABLE.natIngress, key: "innerDstNoVni", setInnerEthDst: true, external: true } });

  // Rack side (in): only the boundary VNI, and only from the sled that owns the source.
  const vni = c.vni ?? BOUNDARY_VNI;
  rules.push({ id: id++, dir: "in", priority: 10, predicates: [{ field: "vni", values: [vni], not: true }], action: { kind: "deny", reason: Reason.WrongVni } });
  for (const e of c.nat) {
    rules.push({
      id: id++, dir: "in", priority: 100,
      predicates: [
        { field: "srcIp", prefixes: [e.ip] },
        { field: "outerSrcIp", prefixes: [e.sled] },
        ...(e.firstPort === 0 && e.lastPort === 65535 ? [] : [{ field: "srcPort" as const, values: [[e.firstPort, e.lastPort] as [number, number]] }]),
      ],
      action: { kind: "decap" },
    });
  }
  // Anything else from the rack (a source the sending sled does not own) is not forwarded.
  rules.push({ id: id++, dir: "in", priority: 1000, predicates: [], action: { kind: "deny", reason: Reason.SpoofedSource } });
  // After decapsulation, the frame goes to the external next hop from our MAC.
  return { name: "boundary", defaultIn: "deny", defaultOut: "deny", rules };
}

/** The modify layer that readdresses decapsulated frames for the external network. */
export function externalL2Layer(c: BoundaryConfig): LayerDef {
  return {
    name: "external-l2", defaultIn: "allow", defaultOut: "allow",
    rules: [{ id: 1, dir: "in", priority: 10, predicates: [], action: { kind: "modify", set: [{ op: "ethSrc", mac: c.externalMac }, { op: "ethDst", mac: c.nextHopMac }] } }],
  };
}

/** NAT ingress table entries for the engine (table natIngress, VNI 0 key). */
export function natIngressMappings(c: BoundaryConfig) {
  return c.nat.map((e) => ({
    table: TABLE.natIngress, vni: 0, ip: e.ip, portLo: e.firstPort, portHi: e.lastPort,
    target: { encapVni: e.vni, underlay: e.sled, mac: e.mac },
  }));
}
