// The overlay layer: Geneve encapsulation onto the rack's IPv6 underlay (RFD
// 63 "Instance to Instance" step 7, "NATing Out" step 5).
//
// Outbound, by the router's decision: VPC destinations are looked up in the
// V2P table (guest IP → sled underlay address, guest MAC) and sent with the
// VPC's VNI and the destination guest's MAC; internet-bound traffic goes to
// boundary services with the boundary VNI and the Oxide External option.
// Inbound, only Geneve on the port's VNI, addressed to the guest's MAC and
// one of its addresses (private or external), is decapsulated; anything else
// is dropped with the reason counted.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { isV4 } from "../program/addr.js";
import type { VpcPortConfig } from "./config.js";
import { ROUTE, REASON, TABLE } from "./constants.js";
import { externalAddresses } from "./nat.js";

export function overlayLayer(c: VpcPortConfig, instanceTargets: string[]): LayerDef {
  const rules: Rule[] = [];
  let id = 1;
  const route = (v: number): Predicate => ({ field: "meta0", values: [v] });

  rules.push({ id: id++, dir: "out", priority: 10, predicates: [route(ROUTE.vpc)],
    action: { kind: "encap", table: TABLE.v2p, key: "innerDst", setInnerEthDst: true } });
  instanceTargets.forEach((ip, k) => {
    rules.push({ id: id++, dir: "out", priority: 20, predicates: [route(ROUTE.instance), { field: "meta1", values: [k] }],
      action: { kind: "encap", table: TABLE.v2p, key: { vni: c.vni, ip, port: 0 }, setInnerEthDst: true } });
  });
  if (c.boundary) {
    rules.push({ id: id++, dir: "out", priority: 30, predicates: [route(ROUTE.internet)],
      action: { kind: "encap", table: TABLE.boundary, key: { vni: 0, ip: "::", port: 0 }, external: true } });
  }

  rules.push({ id: id++, dir: "in", priority: 10, predicates: [{ field: "vni", values: [c.vni], not: true }], action: { kind: "deny", reason: REASON.wrongVni } });
  rules.push({ id: id++, dir: "in", priority: 20, predicates: [{ field: "ethDst", macs: [c.guest.mac], not: true }], action: { kind: "deny", reason: REASON.notForPort } });
  rules.push({ id: id++, dir: "in", priority: 30, predicates: [{ field: "ipVersion", values: [4, 6], not: true }], action: { kind: "deny", reason: REASON.notForPort } });
  // The inner destination must be one of the guest's addresses, private or external (pre-NAT).
  const ours = [c.guest.ipv4, c.guest.ipv6, ...externalAddresses(c)].filter((x): x is string => !!x);
  for (const [version, addrs] of [[4, ours.filter(isV4)], [6, ours.filter((x) => !isV4(x))]] as const) {
    const predicates: Predicate[] = [{ field: "ipVersion", values: [version] }];
    if (addrs.length) predicates.push({ field: "dstIp", prefixes: [...addrs], not: true });
    rules.push({ id: id++, dir: "in", priority: 30 + version, predicates, action: { kind: "deny", reason: REASON.notForPort } });
  }
  rules.push({ id: id++, dir: "in", priority: 100, predicates: [], action: { kind: "decap" } });
  return { name: "overlay", defaultIn: "deny", defaultOut: "deny", rules };
}
