// Large firewall policies as a tenant writes them, for the rule-matching
// bench (rules.ts): VPC firewall rules (layers/vpc/config.ts) drawn from a
// seeded generator and compiled by the VPC's own compiler
// (layers/vpc/firewall.ts), so the engine sees what it would see in a port.
//
// The mix: inbound and outbound rules at many priorities; hosts that are
// single addresses, subnets from /8 to /24, IPv6 /48 and /64, "any" and
// "this VPC" (a V2P lookup), over an address estate of a private 10/8 where
// the VPC lives, other private ranges and public space; TCP, UDP, ICMP or
// any protocol; well-known ports, random ports, ranges and lists. Rules land
// on the bench's traffic about as often as a real policy's would: some of it
// is allowed by a rule (its first matching rule is an allow, as a policy that
// lets the service through), the rest falls to the default. A rule for any
// host names its ports ("HTTPS from anywhere"): no rule matches everything.
//
// The traffic: guest 10.0.0.5 opens TCP connections to PEERS VPC peers
// (10.0.0.6 …) on a port mix of web, SSH, database and random high ports;
// and a SYN flood from the internet (random sources and ports, through the
// boundary: Geneve with the Oxide External option), which the inbound rules
// mostly leave to the default deny.

import type { FirewallRuleConfig } from "../layers/vpc/config.js";
import { firewallRules } from "../layers/vpc/firewall.js";
import type { Rule, LayerDef } from "../layers/program/encode.js";
import { ipFrame, tcp, geneve, TCP_FLAGS } from "../hosts/lib/frames.js";
import { GW_MAC, GUEST_MAC, GUEST_IP, VNI } from "./setup.js";

/** A small fast PRNG (mulberry32): the same policy on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PEERS = 200;
export const peerIp = (k: number) => `10.0.${(6 + k) >> 8}.${(6 + k) & 255}`;
const WELL_KNOWN = [22, 53, 80, 123, 443, 3306, 5432, 6379, 8080, 8443, 9090, 9200, 27017];
/** Destination ports of the traffic, by weight. */
const TRAFFIC_PORTS: [number, number][] = [[443, 30], [80, 20], [22, 5], [5432, 5], [8080, 10], [0, 30]]; // 0: random 1024-65535

function pick<T>(r: () => number, xs: T[]): T { return xs[Math.floor(r() * xs.length)]; }

function v4(r: () => number): string {
  const x = r();
  if (x < 0.5) { // private 10/8, where the VPC (10.0.0.0/24) is
    const b = r() < 0.1 ? 0 : Math.floor(r() * 256);
    return `10.${b}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  }
  if (x < 0.7) return `172.${16 + Math.floor(r() * 16)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  if (x < 0.8) return `192.168.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  return `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
}

function v6(r: () => number): string {
  const g = () => Math.floor(r() * 0x10000).toString(16);
  return r() < 0.6 ? `fd00:${g()}:${g()}:${g()}::` : `2001:db8:${g()}:${g()}::`;
}

type Host = FirewallRuleConfig["hosts"][number];
function host(r: () => number): Host {
  const x = r();
  if (x < 0.45) return { type: "ip", value: v4(r) };
  if (x < 0.70) return { type: "subnet", value: `${v4(r)}/24` };
  if (x < 0.82) return { type: "subnet", value: `${v4(r)}/16` };
  if (x < 0.87) return { type: "subnet", value: `${v4(r)}/8` };
  if (x < 0.95) return { type: "subnet", value: `${v6(r)}/64` };
  return { type: "subnet", value: `${v6(r)}/48` };
}

function ports(r: () => number): string[] | number[] {
  const x = r();
  if (x < 0.40) return [pick(r, WELL_KNOWN)];
  if (x < 0.60) return [1024 + Math.floor(r() * 64512)];
  if (x < 0.75) { const a = 1024 + Math.floor(r() * 60000); return [`${a}-${a + Math.floor(r() * 2000)}`]; }
  if (x < 0.85) return [pick(r, WELL_KNOWN), pick(r, WELL_KNOWN), 1024 + Math.floor(r() * 64512)];
  return [];
}

function configRule(r: () => number, i: number): FirewallRuleConfig {
  const x = r();
  const hosts: Host[] = x < 0.08 ? [] : x < 0.12 ? [{ type: "vpc", vni: VNI }] : r() < 0.8 ? [host(r)] : [host(r), host(r), host(r)];
  const p = r();
  const protocols: FirewallRuleConfig["protocols"] = p < 0.55 ? ["tcp"] : p < 0.75 ? ["udp"] : p < 0.80 ? [r() < 0.5 ? "icmp" : { icmp: { type: 8 } }] : [];
  const isIcmp = protocols.length === 1 && protocols[0] !== "tcp" && protocols[0] !== "udp";
  // a rule for any host names its service: "HTTPS from anywhere", not "everything from anywhere"
  let ps = isIcmp ? [] : (ports(r) as FirewallRuleConfig["ports"]);
  if (hosts.length === 0 && !isIcmp && ps.length === 0) ps = [pick(r, WELL_KNOWN)];
  return {
    name: `r${i}`, direction: r() < 0.6 ? "out" : "in", priority: 100 + Math.floor(r() * 10000),
    action: r() < 0.75 ? "allow" : "deny", hosts, protocols, ports: ps,
  };
}

function inPrefix(ip: string, prefix: string): boolean {
  const [a, l] = prefix.split("/");
  if (a.includes(":")) return false; // the traffic is IPv4
  const n = (s: string) => s.split(".").reduce((x, o) => (x * 256 + Number(o)) >>> 0, 0);
  const bits = Number(l ?? 32);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((n(ip) & mask) >>> 0) === ((n(a) & mask) >>> 0);
}

/** Could the compiled rule decide some of the bench's traffic (outbound TCP to the peers on the traffic's ports)? */
function meetsTraffic(rule: Rule): boolean {
  if (rule.dir === "in") return false;
  return rule.predicates.every((p) => {
    if (p.not) return true;
    switch (p.field) {
      case "dstIp": return p.prefixes.some((x) => Array.from({ length: PEERS }, (_, k) => peerIp(k)).some((ip) => inPrefix(ip, x)));
      case "dstMapped": return true; // every peer has a V2P mapping
      case "proto": return p.values.some((v) => (typeof v === "number" ? v === 6 : v[0] <= 6 && 6 <= v[1]));
      case "dstPort": return p.values.some((v) => (typeof v === "number" ? TRAFFIC_PORTS.some(([t]) => t === v) || v >= 1024 : v[1] >= 1024));
      default: return false; // ICMP type and the like: not TCP
    }
  });
}

export interface Policy { rules: Rule[]; meetTraffic: number }

/**
 * A firewall of `count` compiled rules (ids from 1000). Rules that could
 * decide the bench traffic are allows, so every flow is created.
 */
export function policyRules(count: number, seed = 1): Policy {
  const r = prng(seed);
  const configs: FirewallRuleConfig[] = [];
  const rules: Rule[] = [];
  for (let i = 0; rules.length < count; i++) {
    const c = configRule(r, i);
    configs.push(c);
    rules.push(...firewallRules([c], VNI, 1000 + i));
  }
  rules.length = count;
  let meetTraffic = 0;
  for (const rule of rules) {
    if (!meetsTraffic(rule)) continue;
    meetTraffic++;
    rule.action = { kind: "statefulAllow" };
  }
  return { rules, meetTraffic };
}

/** The bench firewall: the base rules of setup.ts's firewall, then the policy. */
export function policyFirewall(p: Policy, base: LayerDef): LayerDef {
  return { ...base, rules: [...base.rules.filter((x) => x.dir === "in"), ...p.rules] };
}

/** Flow i of the traffic: the guest to peer i mod PEERS, source port by i, destination port from the mix. */
export function policyFrame(i: number): Uint8Array {
  const r = prng(i * 7919 + 17);
  let w = r() * 100, dport = 0;
  for (const [port, weight] of TRAFFIC_PORTS) { if (w < weight) { dport = port; break; } w -= weight; }
  if (dport === 0) dport = 1024 + Math.floor(r() * 64512);
  const peer = peerIp(i % PEERS);
  const sport = 1024 + (Math.floor(i / PEERS) % 60000);
  return ipFrame(GW_MAC, GUEST_MAC, GUEST_IP, peer, 6, tcp(GUEST_IP, peer, sport, dport, TCP_FLAGS.SYN));
}

/** Flood packet i: a SYN from a random internet address and port to a random port of the guest, as the boundary delivers it. */
export function floodFrame(i: number): Uint8Array {
  const r = prng(i * 104729 + 5);
  const src = `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
  const sport = 1024 + Math.floor(r() * 64512), dport = r() < 0.3 ? pick(r, WELL_KNOWN) : 1 + Math.floor(r() * 65534);
  const inner = ipFrame(GUEST_MAC, GW_MAC, src, GUEST_IP, 6, tcp(src, GUEST_IP, sport, dport, TCP_FLAGS.SYN));
  return geneve("02:00:00:00:0a:01", "02:00:00:00:5e:01", "fd00:1122:3344:1::1", "fd00:1122:3344:101::1", { vni: VNI, external: true }, inner);
}
