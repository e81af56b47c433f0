// The NAT layer: how a guest reaches the internet gateway and is reached
// from it (RFD 63 "NATing Out", "Floating and Ephemeral IP Inbound").
//
// Outbound traffic the router sent to an internet gateway leaves from, in
// order of preference: a floating IP (1:1; several spread flows by hash), the
// ephemeral IP (1:1), or a SNAT IP with a port from the guest's block.
// External IPs tied to a gateway (`igw`) are used only for traffic routed
// through that gateway, and win over untied ones. Inbound traffic to a
// floating or ephemeral IP is translated to the guest's private address (1:1,
// all ports). Replies need no rule: the flow record remembers the
// translation, so a flow keeps the address it arrived on even after the
// external IPs are reconfigured. SNAT addresses take no unsolicited inbound
// traffic. Traffic from external attached subnets is not translated.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { isV4 } from "../program/addr.js";
import type { VpcPortConfig } from "./config.js";
import { ROUTE, REASON } from "./constants.js";

export interface ExternalAddr { ip: string; igw?: number }
export interface SnatPool { pool: number; ip: string; firstPort: number; lastPort: number; igw?: number }

export function externalIpsOf(c: VpcPortConfig): { floating: ExternalAddr[]; ephemeral: ExternalAddr[]; snat: SnatPool[] } {
  const norm = (x: string | ExternalAddr): ExternalAddr => (typeof x === "string" ? { ip: x } : x);
  const e = c.externalIps;
  const snat = e.snat === undefined ? [] : Array.isArray(e.snat) ? e.snat : [e.snat];
  return {
    floating: e.floating.map(norm),
    ephemeral: e.ephemeral === undefined ? [] : [norm(e.ephemeral)],
    snat: snat.map((s, pool) => ({ pool, ...s })),
  };
}

/** Hash ranges splitting the 32-bit flow hash into `n` equal parts. */
function hashShare(k: number, n: number): [number, number] {
  const step = Math.floor(0x1_0000_0000 / n);
  return [k * step, k === n - 1 ? 0xffffffff : (k + 1) * step - 1];
}

export function natLayer(c: VpcPortConfig): LayerDef {
  const rules: Rule[] = [];
  let id = 1;
  const ext = externalIpsOf(c);
  const toInternet: Predicate = { field: "meta0", values: [ROUTE.internet] };
  const family = (ip: string): Predicate => ({ field: "ipVersion", values: [isV4(ip) ? 4 : 6] });
  const privateIp = (ip: string) => (isV4(ip) ? c.guest.ipv4 : c.guest.ipv6);
  const viaGateway = (a: { igw?: number }): Predicate[] => (a.igw === undefined ? [] : [{ field: "meta2", values: [a.igw] }]);
  // tied to a gateway: 0; untied: +5 (the specific choice wins)
  const prio = (base: number, a: { igw?: number }) => base + (a.igw === undefined ? 5 : 0);

  const externalSubnets = c.attachedSubnets.filter((a) => a.external).map((a) => a.cidr);
  if (externalSubnets.length) {
    rules.push({ id: id++, dir: "out", priority: 1, predicates: [{ field: "srcIp", prefixes: externalSubnets }], action: { kind: "allow" } });
  }
  for (const [kind, list, base] of [["floating", ext.floating, 10], ["ephemeral", ext.ephemeral, 20]] as const) {
    // group by gateway and family; a group of n addresses splits flows by hash
    const groups = new Map<string, ExternalAddr[]>();
    for (const a of list) {
      if (!privateIp(a.ip)) continue;
      const key = `${a.igw ?? "any"}/${isV4(a.ip) ? 4 : 6}`;
      groups.set(key, [...(groups.get(key) ?? []), a]);
    }
    for (const g of groups.values()) {
      g.forEach((a, k) => {
        const share: Predicate[] = g.length > 1 ? [{ field: "flowHash", values: [hashShare(k, g.length)] }] : [];
        rules.push({ id: id++, dir: "out", priority: prio(base, a), predicates: [toInternet, family(a.ip), ...viaGateway(a), ...share], action: { kind: "nat11Src", ip: a.ip } });
      });
    }
    for (const a of list) {
      const priv = privateIp(a.ip);
      if (priv) rules.push({ id: id++, dir: "in", priority: base, predicates: [{ field: "dstIp", prefixes: [a.ip] }], action: { kind: "nat11Dst", ip: priv } });
    }
    void kind;
  }
  for (const s of ext.snat) {
    if (!privateIp(s.ip)) continue;
    rules.push({ id: id++, dir: "out", priority: prio(30, s), predicates: [toInternet, family(s.ip), ...viaGateway(s)], action: { kind: "snat", pool: s.pool } });
    rules.push({ id: id++, dir: "in", priority: 30, predicates: [{ field: "dstIp", prefixes: [s.ip] }], action: { kind: "deny", reason: REASON.notForPort } });
  }
  // Internet-bound traffic no external address took (and not from an external subnet) cannot leave.
  rules.push({ id: id++, dir: "out", priority: 1000, predicates: [toInternet], action: { kind: "deny", reason: REASON.unroutable } });
  return { name: "nat", defaultIn: "allow", defaultOut: "allow", rules };
}

/** Addresses the overlay must accept as inbound destinations (before NAT): external IPs and received attached subnets. */
export function externalAddresses(c: VpcPortConfig): string[] {
  const ext = externalIpsOf(c);
  return [...ext.floating.map((a) => a.ip), ...ext.ephemeral.map((a) => a.ip), ...ext.snat.map((s) => s.ip),
    ...c.attachedSubnets.filter((a) => a.receive).map((a) => a.cidr)];
}
