// The overlay layer: Geneve encapsulation onto the rack's IPv6 underlay (RFD
// 63 "Instance to Instance" step 7, "NATing Out" step 5).
//
// Outbound, by the router's decision: VPC destinations are looked up in the
// V2P table (guest IP → sled underlay address, guest MAC) and sent with the
// VPC's VNI and the destination guest's MAC, TCP with the Oxide MSS option
// (room for the host to carry the guest's MSS when it segments, as OPTE
// reserves it); internet-bound traffic goes to boundary services with the
// boundary VNI and the tunnel endpoint's MAC inside, as OPTE sends it (no
// Oxide External option: that tags what boundary services bring *in* from
// outside the rack); multicast goes to the group's
// underlay address from the M2P table (VNI 77, group MACs, the Multicast
// option; TCP refused by the engine).
// Inbound, only Geneve on the port's VNI, addressed to the guest's MAC and
// one of its addresses (private or external), is decapsulated, and multicast
// on VNI 77 or the port's VNI for a group the port joined, from a source its
// filter takes; anything else is dropped with the reason counted.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { isV4 } from "../program/addr.js";
import type { VpcPortConfig } from "./config.js";
import { ROUTE, TABLE } from "./constants.js";
import { Reason } from "../../abi/reason.js";
import { externalAddresses } from "./nat.js";
import { MULTICAST_PREFIXES, MULTICAST_VNI } from "./multicast.js";

export function overlayLayer(c: VpcPortConfig, instanceTargets: string[]): LayerDef {
  const rules: Rule[] = [];
  let id = 1;
  const route = (...v: number[]): Predicate => ({ field: "meta0", values: v });

  // An external attached subnet's address is outside the VPC's private scope:
  // it reaches the internet without NAT but never a VPC address, whatever the
  // route (OPTE's overlay refuses the V2P lookup for traffic sent from an
  // external address).
  const external = c.attachedSubnets.filter((a) => a.external).map((a) => a.cidr);
  if (external.length) {
    rules.push({ id: id++, dir: "out", priority: 5, predicates: [route(ROUTE.vpc, ROUTE.instance), { field: "srcIp", prefixes: external }],
      action: { kind: "deny", reason: Reason.LayerDeny } });
  }
  rules.push({ id: id++, dir: "out", priority: 10, predicates: [route(ROUTE.vpc)],
    action: { kind: "encap", table: TABLE.v2p, key: "innerDst", setInnerEthDst: true, mssOnTcp: true } });
  instanceTargets.forEach((ip, k) => {
    rules.push({ id: id++, dir: "out", priority: 20, predicates: [route(ROUTE.instance), { field: "meta1", values: [k] }],
      action: { kind: "encap", table: TABLE.v2p, key: { vni: c.vni, ip, port: 0 }, setInnerEthDst: true, mssOnTcp: true } });
  });
  rules.push({ id: id++, dir: "out", priority: 25, predicates: [route(ROUTE.multicast)],
    action: { kind: "encap", table: TABLE.m2p, key: "innerDstNoVni", multicast: true } });
  if (c.boundary) {
    rules.push({ id: id++, dir: "out", priority: 30, predicates: [route(ROUTE.internet)],
      action: { kind: "encap", table: TABLE.boundary, key: { vni: 0, ip: "::", port: 0 }, setInnerEthDst: true } });
  }

  id = multicastInbound(c, rules, id);
  rules.push({ id: id++, dir: "in", priority: 10, predicates: [{ field: "vni", values: [c.vni], not: true }], action: { kind: "deny", reason: Reason.WrongVni } });
  rules.push({ id: id++, dir: "in", priority: 20, predicates: [{ field: "ethDst", macs: [c.guest.mac], not: true }], action: { kind: "deny", reason: Reason.NotForPort } });
  rules.push({ id: id++, dir: "in", priority: 30, predicates: [{ field: "ipVersion", values: [4, 6], not: true }], action: { kind: "deny", reason: Reason.NotForPort } });
  // The inner destination must be one of the guest's addresses, private or external (pre-NAT).
  const ours = [c.guest.ipv4, c.guest.ipv6, ...externalAddresses(c)].filter((x): x is string => !!x);
  for (const [version, addrs] of [[4, ours.filter(isV4)], [6, ours.filter((x) => !isV4(x))]] as const) {
    const predicates: Predicate[] = [{ field: "ipVersion", values: [version] }];
    if (addrs.length) predicates.push({ field: "dstIp", prefixes: [...addrs], not: true });
    rules.push({ id: id++, dir: "in", priority: 30 + version, predicates, action: { kind: "deny", reason: Reason.NotForPort } });
  }
  rules.push({ id: id++, dir: "in", priority: 100, predicates: [], action: { kind: "decap" } });
  return { name: "overlay", defaultIn: "deny", defaultOut: "deny", rules };
}

/**
 * Inbound multicast, decided before the unicast checks: the fleet-wide VNI or
 * the port's own, then per joined group its source filter (IGMPv3/MLDv2
 * include or exclude), then no membership. Groups are distinct addresses, so
 * one priority per step serves every group. Returns the next rule id.
 */
function multicastInbound(c: VpcPortConfig, rules: Rule[], firstId: number): number {
  let id = firstId;
  const toGroup: Predicate = { field: "dstIp", prefixes: MULTICAST_PREFIXES };
  rules.push({ id: id++, dir: "in", priority: 1, predicates: [toGroup, { field: "vni", values: [MULTICAST_VNI, c.vni], not: true }],
    action: { kind: "deny", reason: Reason.WrongVni } });
  for (const g of c.multicast) {
    const group: Predicate = { field: "dstIp", prefixes: [g.group] };
    const listed: Predicate[] = g.sources.length ? [{ field: "srcIp", prefixes: g.sources }] : [];
    const include = g.mode === "include";
    if (listed.length) {
      rules.push({ id: id++, dir: "in", priority: 2, predicates: [group, ...listed],
        action: include ? { kind: "decap" } : { kind: "deny", reason: Reason.SourceFiltered } });
    }
    rules.push({ id: id++, dir: "in", priority: 3, predicates: [group],
      action: include ? { kind: "deny", reason: Reason.SourceFiltered } : { kind: "decap" } });
  }
  rules.push({ id: id++, dir: "in", priority: 4, predicates: [toGroup], action: { kind: "deny", reason: Reason.NotMember } });
  return id;
}
