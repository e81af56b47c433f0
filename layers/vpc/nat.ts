// The NAT layer: how a guest reaches the internet gateway and is reached
// from it (RFD 63 "NATing Out", "Floating and Ephemeral IP Inbound").
//
// Outbound traffic the router sent to an internet gateway leaves from, in
// order of preference: a floating IP (1:1; several spread flows by hash), the
// ephemeral IP (1:1), or a SNAT IP with a port from the guest's block. Each
// external address serves a set of internet gateways (`igw`; gateway 0 when
// not given, as OPTE's addresses outside its gateway map serve only routes
// without a gateway), and only traffic a route sent through one of them may
// leave from it: a gateway no address serves is a dead end. Inbound traffic
// to a floating or ephemeral IP is translated to the guest's private address
// (1:1, all ports); SNAT addresses take no unsolicited inbound traffic.
// Replies need no rule: the flow record remembers the translation. Traffic
// from external attached subnets is not translated.
//
// Reconfiguring external addresses: a flow keeps the address it has while
// that address is still the port's (engine/nat/affinity.ts); a flow whose
// address was taken away is NATed afresh on its next outbound packet, and
// nothing comes in on the old address.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import { isV4 } from "../program/addr.js";
import type { VpcPortConfig } from "./config.js";
import { ROUTE } from "./constants.js";
import { Reason } from "../../abi/reason.js";

export interface ExternalAddr { ip: string; igws: number[] }
export interface SnatPool { pool: number; ip: string; firstPort: number; lastPort: number; igws: number[] }

/** The gateways an address serves: its `igw` id or set, else gateway 0. */
function gateways(igw: number | number[] | undefined): number[] {
  return igw === undefined ? [0] : [...new Set(Array.isArray(igw) ? igw : [igw])].sort((a, b) => a - b);
}

export function externalIpsOf(c: VpcPortConfig): { floating: ExternalAddr[]; ephemeral: ExternalAddr[]; snat: SnatPool[] } {
  const norm = (x: string | { ip: string; igw?: number | number[] }): ExternalAddr =>
    (typeof x === "string" ? { ip: x, igws: [0] } : { ip: x.ip, igws: gateways(x.igw) });
  const e = c.externalIps;
  const snat = e.snat === undefined ? [] : Array.isArray(e.snat) ? e.snat : [e.snat];
  return {
    floating: e.floating.map(norm),
    ephemeral: e.ephemeral === undefined ? [] : (Array.isArray(e.ephemeral) ? e.ephemeral : [e.ephemeral]).map(norm),
    snat: snat.map((s, pool) => ({ pool, ip: s.ip, firstPort: s.firstPort, lastPort: s.lastPort, igws: gateways(s.igw) })),
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
  const via = (gws: number[]): Predicate => ({ field: "meta2", values: gws });

  const externalSubnets = c.attachedSubnets.filter((a) => a.external).map((a) => a.cidr);
  if (externalSubnets.length) {
    rules.push({ id: id++, dir: "out", priority: 1, predicates: [{ field: "srcIp", prefixes: externalSubnets }], action: { kind: "allow" } });
  }
  // Floating IPs: per family and gateway, the addresses serving it split the flows by hash.
  const floating = ext.floating.filter((a) => privateIp(a.ip));
  for (const v4 of [true, false]) {
    const mine = floating.filter((a) => isV4(a.ip) === v4);
    for (const g of [...new Set(mine.flatMap((a) => a.igws))].sort((a, b) => a - b)) {
      const serving = mine.filter((a) => a.igws.includes(g));
      serving.forEach((a, k) => {
        const share: Predicate[] = serving.length > 1 ? [{ field: "flowHash", values: [hashShare(k, serving.length)] }] : [];
        rules.push({ id: id++, dir: "out", priority: 10, predicates: [toInternet, family(a.ip), via([g]), ...share], action: { kind: "nat11Src", ip: a.ip } });
      });
    }
  }
  for (const a of ext.ephemeral.filter((x) => privateIp(x.ip))) {
    rules.push({ id: id++, dir: "out", priority: 20, predicates: [toInternet, family(a.ip), via(a.igws)], action: { kind: "nat11Src", ip: a.ip } });
  }
  for (const [list, base] of [[ext.floating, 10], [ext.ephemeral, 20]] as const) {
    for (const a of list) {
      const priv = privateIp(a.ip);
      if (priv) rules.push({ id: id++, dir: "in", priority: base, predicates: [{ field: "dstIp", prefixes: [a.ip] }], action: { kind: "nat11Dst", ip: priv } });
    }
  }
  for (const s of ext.snat) {
    if (!privateIp(s.ip)) continue;
    rules.push({ id: id++, dir: "out", priority: 30, predicates: [toInternet, family(s.ip), via(s.igws)], action: { kind: "snat", pool: s.pool } });
    rules.push({ id: id++, dir: "in", priority: 30, predicates: [{ field: "dstIp", prefixes: [s.ip] }], action: { kind: "deny", reason: Reason.NotForPort } });
  }
  // Internet-bound traffic no external address took (and not from an external subnet) cannot leave.
  rules.push({ id: id++, dir: "out", priority: 1000, predicates: [toInternet], action: { kind: "deny", reason: Reason.Unroutable } });
  return { name: "nat", defaultIn: "allow", defaultOut: "allow", rules };
}

/** Addresses the overlay must accept as inbound destinations (before NAT): external IPs and received attached subnets. */
export function externalAddresses(c: VpcPortConfig): string[] {
  const ext = externalIpsOf(c);
  return [...ext.floating.map((a) => a.ip), ...ext.ephemeral.map((a) => a.ip), ...ext.snat.map((s) => s.ip),
    ...c.attachedSubnets.filter((a) => a.receive).map((a) => a.cidr)];
}
