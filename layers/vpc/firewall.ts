// The firewall layer: VPC firewall rules as users write them (RFD 21 style:
// direction, priority, allow/deny, host, protocol and port filters).
// Allows are stateful: the flow's replies pass without a rule of their own.
// Defaults: inbound deny, outbound allow (statefully).
//
// A rule with several filters of one kind matches any of them (a host list
// is an OR); filters of different kinds must all match. Rules compile in
// their own priority; equal priorities keep the order the user gave.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import type { VpcPortConfig, FirewallRuleConfig } from "./config.js";
import { PROTO } from "./constants.js";

type Host = FirewallRuleConfig["hosts"][number];
type Protocol = FirewallRuleConfig["protocols"][number];

function hostPredicates(hosts: Host[], dir: "in" | "out"): Predicate[] {
  if (hosts.length === 0) return [];
  const field = dir === "in" ? "srcIp" : "dstIp";
  const prefixes: string[] = [];
  const vnis: number[] = [];
  for (const h of hosts) {
    switch (h.type) {
      case "ip": prefixes.push(h.value); break;
      case "subnet": prefixes.push(h.value); break;
      case "instance": prefixes.push(...h.ips); break;
      case "vpc": vnis.push(h.vni); break;
    }
  }
  if (prefixes.length && vnis.length) {
    // One predicate list cannot say "IP in A or VNI in B"; such rules are split by the caller.
    throw new Error("a firewall rule cannot mix vpc hosts with ip/subnet/instance hosts; write two rules");
  }
  return prefixes.length ? [{ field, prefixes }] : [{ field: "vni", values: vnis }];
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

export function firewallRules(fw: FirewallRuleConfig[], firstId = 1): Rule[] {
  const rules: Rule[] = [];
  let id = firstId;
  for (const r of fw) {
    const hosts = hostPredicates(r.hosts, r.direction);
    const ports: Predicate[] = r.ports.length ? [{ field: "dstPort", values: portValues(r.ports) }] : [];
    // Port filters mean TCP/UDP ports unless the rule names its protocols.
    const protocols = r.protocols.length === 0 && r.ports.length ? (["tcp", "udp"] as Protocol[]) : r.protocols;
    for (const proto of protocolAlternatives(protocols)) {
      rules.push({
        id: id, dir: r.direction, priority: r.priority,
        predicates: [...hosts, ...proto, ...ports],
        action: r.action === "allow" ? { kind: "statefulAllow" } : { kind: "deny" },
      });
    }
    id++;
  }
  return rules;
}

export function firewallLayer(c: VpcPortConfig): LayerDef {
  return { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules: firewallRules(c.firewall) };
}
