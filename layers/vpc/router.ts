// The router layer: longest-prefix match over the port's routes, for IPv4
// and IPv6 (RFD 21 VPC routing: a system table — the VPC subnets and
// multicast — plus a custom table). The decision is left in metadata register 0 (and 1 for
// instance routes) for the NAT and overlay layers; the router itself only
// drops unroutable traffic and answers expiring TTLs for the internet path.
//
// Longest prefix first is a priority order: priority = 4 × (128 − length over
// the 128-bit form), +2 for system routes, so a custom route wins a tie with a
// system route of the same prefix (as OPTE orders them: a user's drop route
// for a VPC subnet takes effect); an internet gateway's TTL check sits one
// below its route.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { HairpinKind, encodeIcmp4ErrorParams, encodeIcmp6ErrorParams } from "../program/hairpin-params.js";
import { prefix16, isV4 } from "../program/addr.js";
import type { VpcPortConfig, RouteConfig } from "./config.js";
import { ROUTE } from "./constants.js";
import { Reason } from "../../abi/reason.js";
import { MULTICAST_PREFIXES, LINK_SCOPE_MULTICAST } from "./multicast.js";

export interface CompiledRoutes {
  rules: Rule[];
  /** Instance next hops, by meta1 value: the overlay encapsulates to these. */
  instanceTargets: string[];
}

export function systemRoutes(c: VpcPortConfig): RouteConfig[] {
  const out: RouteConfig[] = [];
  if (c.subnet.ipv4) out.push({ dest: c.subnet.ipv4, target: { type: "vpcSubnet" } });
  if (c.subnet.ipv6) out.push({ dest: c.subnet.ipv6, target: { type: "vpcSubnet" } });
  return out;
}

/** A route's rule priority: longer prefixes first, a custom route before a system one of the same prefix. */
export function routePriority(dest: string, system: boolean): number {
  return 1000 + 4 * (128 - prefix16(dest).len) + (system ? 2 : 0);
}

export function routerRules(c: VpcPortConfig): CompiledRoutes {
  const rules: Rule[] = [];
  const instanceTargets: string[] = [];
  let id = 1;
  const all = [...systemRoutes(c).map((r) => ({ r, custom: false })), ...c.routes.map((r) => ({ r, custom: true }))];
  for (const { r, custom } of all) {
    const len = prefix16(r.dest).len;
    const priority = routePriority(r.dest, !custom);
    const dest: Predicate = { field: "dstIp", prefixes: [r.dest] };
    const t = r.target;
    switch (t.type) {
      case "vpcSubnet":
        rules.push({ id: id++, dir: "out", priority, predicates: [dest], action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE.vpc }] } });
        break;
      case "instance": {
        let k = instanceTargets.indexOf(t.ip);
        if (k < 0) { k = instanceTargets.length; instanceTargets.push(t.ip); }
        rules.push({ id: id++, dir: "out", priority, predicates: [dest], action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE.instance }, { op: "meta", reg: 1, value: k }] } });
        break;
      }
      case "internetGateway":
        // Leaving the VPC is a real router hop: the TTL goes down, and a packet
        // that would expire gets Time Exceeded from the gateway (traceroute works).
        if (c.guest.ipv4 && c.gateway.ipv4 && isV4(r.dest)) {
          rules.push({
            id: id++, dir: "out", priority: priority - 1, predicates: [dest, { field: "ttl", values: [[0, 1]] }],
            action: { kind: "hairpin", hairpin: HairpinKind.Icmp4Error, params: encodeIcmp4ErrorParams({ gatewayMac: c.gateway.mac, gatewayIp: c.gateway.ipv4, type: 11, code: 0 }) },
          });
        }
        if (c.guest.ipv6 && c.gateway.ipv6 && !isV4(r.dest)) {
          rules.push({
            id: id++, dir: "out", priority: priority - 1, predicates: [dest, { field: "ttl", values: [[0, 1]] }],
            action: { kind: "hairpin", hairpin: HairpinKind.Icmp6Error, params: encodeIcmp6ErrorParams({ gatewayMac: c.gateway.mac, gatewayIp: c.gateway.ipv6, type: 3, code: 0 }) },
          });
        }
        rules.push({ id: id++, dir: "out", priority, predicates: [dest], action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE.internet }, { op: "meta", reg: 2, value: t.id }, { op: "ttlDec" }] } });
        break;
      case "drop":
        rules.push({ id: id++, dir: "out", priority, predicates: [dest], action: { kind: "deny", reason: Reason.Unroutable } });
        break;
    }
  }
  // Multicast is a system route of its own (the overlay sends it to the group's
  // underlay address); link-scope groups stay on the guest's link. Priorities
  // follow the prefix lengths, so a custom route to a narrower group range wins.
  for (const v4 of [true, false]) {
    if (!(v4 ? c.guest.ipv4 : c.guest.ipv6)) continue;
    const fam = (p: string) => isV4(p) === v4;
    const group = MULTICAST_PREFIXES.filter(fam)[0];
    rules.push({ id: id++, dir: "out", priority: routePriority(group, true), predicates: [{ field: "dstIp", prefixes: [group] }],
      action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE.multicast }] } });
    for (const linkScope of LINK_SCOPE_MULTICAST.filter(fam)) {
      rules.push({ id: id++, dir: "out", priority: routePriority(linkScope, true), predicates: [{ field: "dstIp", prefixes: [linkScope] }],
        action: { kind: "deny", reason: Reason.Unroutable } });
    }
  }
  // Inside the VPC no hop is visible, but a dead packet (TTL 0) is not forwarded.
  rules.push({ id: id++, dir: "out", priority: 10, predicates: [{ field: "ttl", values: [0] }], action: { kind: "deny", reason: Reason.TtlExceeded } });
  // No route matched.
  rules.push({ id: id++, dir: "out", priority: 65535, predicates: [], action: { kind: "deny", reason: Reason.Unroutable } });
  return { rules, instanceTargets };
}

export function routerLayer(c: VpcPortConfig): { layer: LayerDef; instanceTargets: string[] } {
  const { rules, instanceTargets } = routerRules(c);
  return {
    layer: { name: "router", defaultIn: "allow", defaultOut: "deny", rules },
    instanceTargets,
  };
}
