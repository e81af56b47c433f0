// The firewall layer: VPC firewall rules as users write them (RFD 21 style:
// direction, priority, allow/deny, host, protocol and port filters).
// Allows are stateful: the flow's replies pass without a rule of their own.
// Defaults: inbound deny, outbound allow (statefully).
//
// A rule with several filters of one kind matches any of them (a host list
// is an OR); filters of different kinds must all match. Rules compile in
// their own priority; equal priorities keep the order the user gave.
//
// A `vpc` host means "this VPC" as OPTE tags it: inbound, traffic that came
// over the overlay on the port's VNI *without* the Oxide External option
// (boundary services tag everything from outside the rack with it, and the
// internet arrives on the guest's own VNI), so an allow-from-my-VPC rule
// never opens a port to the internet; outbound, a destination that has a
// V2P mapping in the port's VPC. Another VPC's VNI matches nothing: wopte
// has no VPC peering, and the overlay drops foreign VNIs before the firewall.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import type { VpcPortConfig, FirewallRuleConfig } from "./config.js";
import { PROTO, TABLE, OXIDE_OPTION } from "./constants.js";

type Host = FirewallRuleConfig["hosts"][number];
type Protocol = FirewallRuleConfig["protocols"][number];

/** Host filters → alternatives (each a list of predicates); [] when no host can match. */
function hostAlternatives(hosts: Host[], dir: "in" | "out", vni: number): Predicate[][] {
  if (hosts.length === 0) return [[]];
  const field = dir === "in" ? "srcIp" : "dstIp";
  const prefixes: string[] = [];
  let thisVpc = false;
  for (const h of hosts) {
    switch (h.type) {
      case "ip": prefixes.push(h.value); break;
      case "subnet": prefixes.push(h.value); break;
      case "instance": prefixes.push(...h.ips); break;
      case "vpc": if (h.vni === vni) thisVpc = true; break;
    }
  }
  const alts: Predicate[][] = [];
  if (prefixes.length) alts.push([{ field, prefixes }]);
  if (thisVpc) {
    alts.push(dir === "in"
      ? [{ field: "vni", values: [vni] }, { field: "oxideOptions", masks: [{ mask: OXIDE_OPTION.external, want: 0 }] }]
      : [{ field: "dstMapped", values: [TABLE.v2p] }]);
  }
  return alts;
}

/** Protocol filters → one alternative per protocol entry (each a list of predicates). */
function protocolAlternatives(protocols: Protocol[]): Predicate[][] {
  if (protocols.length === 0) return [[]];
  const simple: number[] = [];
  const alts: Predicate[][] = [];
  for (const p of protocols) {
    if (typeof p === "string") { simple.push(PROTO[p]); continue; }
    const [proto, spec] = "icmp" in p ? [PROTO.icmp, p.icmp] : [PROTO.icmpv6, p.icmpv6];
    const preds: Predicate[] = [{ field: "proto", values: [proto] }, { field: "icmpType", values: [spec.type] }];
    if (spec.code !== undefined) preds.push({ field: "icmpCode", values: [spec.code] });
    alts.push(preds);
  }
  if (simple.length) alts.unshift([{ field: "proto", values: simple }]);
  return alts;
}

function portValues(ports: FirewallRuleConfig["ports"]): (number | [number, number])[] {
  return ports.map((p) => {
    if (typeof p === "number") return p;
    const [a, b] = p.split("-").map(Number);
    return b === undefined ? a : [a, b];
  });
}

export function firewallRules(fw: FirewallRuleConfig[], vni: number, firstId = 1): Rule[] {
  const rules: Rule[] = [];
  let id = firstId;
  for (const r of fw) {
    const ports: Predicate[] = r.ports.length ? [{ field: "dstPort", values: portValues(r.ports) }] : [];
    // Port filters mean TCP/UDP ports unless the rule names its protocols.
    const protocols = r.protocols.length === 0 && r.ports.length ? (["tcp", "udp"] as Protocol[]) : r.protocols;
    for (const hosts of hostAlternatives(r.hosts, r.direction, vni)) {
      for (const proto of protocolAlternatives(protocols)) {
        rules.push({
          id: id, dir: r.direction, priority: r.priority,
          predicates: [...hosts, ...proto, ...ports],
          action: r.action === "allow" ? { kind: "statefulAllow" } : { kind: "deny" },
        });
      }
    }
    id++;
  }
  return rules;
}

export function firewallLayer(c: VpcPortConfig): LayerDef {
  return { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules: firewallRules(c.firewall, c.vni) };
}
