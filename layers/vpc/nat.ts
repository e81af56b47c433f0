// The NAT layer: how a guest reaches the internet gateway and is reached
// from it (RFD 63 "NATing Out", "Floating and Ephemeral IP Inbound").
//
// Outbound traffic the router sent to the internet gateway leaves from, in
// order of preference: a floating IP (1:1), the ephemeral IP (1:1), or the
// SNAT IP with a port from the guest's block. Inbound traffic to a floating
// or ephemeral IP is translated to the guest's private address (1:1, all
// ports). Replies need no rule: the flow record remembers the translation.
// SNAT addresses take no unsolicited inbound traffic.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { isV4 } from "../program/addr.js";
import type { VpcPortConfig } from "./config.js";
import { ROUTE, REASON } from "./constants.js";

export const SNAT_POOL = 0;

export function natLayer(c: VpcPortConfig): LayerDef {
  const rules: Rule[] = [];
  let id = 1;
  const ext = c.externalIps;
  const toInternet: Predicate = { field: "meta0", values: [ROUTE.internet] };
  const family = (ip: string): Predicate => ({ field: "ipVersion", values: [isV4(ip) ? 4 : 6] });
  const privateIp = (ip: string) => (isV4(ip) ? c.guest.ipv4 : c.guest.ipv6);

  const oneToOne = [...ext.floating, ...(ext.ephemeral ? [ext.ephemeral] : [])];
  for (const ip of oneToOne) {
    const priv = privateIp(ip);
    if (!priv) continue;
    const prio = ext.floating.includes(ip) ? 10 : 20;
    rules.push({ id: id++, dir: "out", priority: prio, predicates: [toInternet, family(ip)], action: { kind: "nat11Src", ip } });
    rules.push({ id: id++, dir: "in", priority: prio, predicates: [{ field: "dstIp", prefixes: [ip] }], action: { kind: "nat11Dst", ip: priv } });
  }
  if (ext.snat && privateIp(ext.snat.ip)) {
    rules.push({ id: id++, dir: "out", priority: 30, predicates: [toInternet, family(ext.snat.ip)], action: { kind: "snat", pool: SNAT_POOL } });
    rules.push({ id: id++, dir: "in", priority: 30, predicates: [{ field: "dstIp", prefixes: [ext.snat.ip] }], action: { kind: "deny", reason: REASON.notForPort } });
  }
  return { name: "nat", defaultIn: "allow", defaultOut: "allow", rules };
}

/** External addresses the overlay must accept as inbound destinations (before NAT). */
export function externalAddresses(c: VpcPortConfig): string[] {
  const ext = c.externalIps;
  return [...ext.floating, ...(ext.ephemeral ? [ext.ephemeral] : []), ...(ext.snat ? [ext.snat.ip] : [])];
}
