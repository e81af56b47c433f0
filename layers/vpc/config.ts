// The VPC port config: one JSON document per guest port, as a control plane
// would send it (omicron → OPTE: MAC, IPs, subnet, gateway, VNI, sled
// underlay, external IPs, firewall rules, routes, V2P mappings). Validated
// with strict zod schemas (an unknown field is an error, not ignored: a
// misspelt "firewal" must not quietly leave a port open); errors name the
// path and the reason.

import { z } from "zod";
import { isIP, isV4, ip16, ipText, parsePrefix, prefixText } from "../program/addr.js";
import { mac, ipv4, ipv6, ip, cidr, cidr4, cidr6, port, vni, portRange, name, label, dnsName, hostLabel } from "../program/fields.js";
import { encodeDnsNames, dnsNameProblem } from "../program/dns-name.js";
import { groupProblem, sourceProblem, isUnderlayGroup } from "./multicast.js";
import { TUNNEL_ENDPOINT_MAC } from "./constants.js";

export const FirewallHost = z.union([
  z.strictObject({ type: z.literal("ip"), value: ip }),
  z.strictObject({ type: z.literal("subnet"), value: cidr }),
  z.strictObject({ type: z.literal("vpc"), vni }),
  z.strictObject({ type: z.literal("instance"), ips: z.array(ip).min(1) }),
]);

export const FirewallProtocol = z.union([
  z.enum(["tcp", "udp", "icmp", "icmpv6"]),
  z.strictObject({ icmp: z.strictObject({ type: z.number().int().min(0).max(255), code: z.number().int().min(0).max(255).optional() }) }),
  z.strictObject({ icmpv6: z.strictObject({ type: z.number().int().min(0).max(255), code: z.number().int().min(0).max(255).optional() }) }),
]);

export const FirewallRule = z.strictObject({
  name: label,
  direction: z.enum(["in", "out"]),
  priority: z.number().int().min(0).max(65535).default(1000),
  action: z.enum(["allow", "deny"]),
  hosts: z.array(FirewallHost).default([]),
  protocols: z.array(FirewallProtocol).default([]),
  ports: z.array(portRange).default([]),
});

export const RouteTarget = z.union([
  z.strictObject({ type: z.literal("vpcSubnet") }),
  z.strictObject({ type: z.literal("instance"), ip }),
  z.strictObject({ type: z.literal("internetGateway"), id: z.number().int().min(0).max(255).default(0) }),
  z.strictObject({ type: z.literal("drop") }),
]);
export const Route = z.strictObject({ dest: cidr, target: RouteTarget });

const igwId = z.number().int().min(0).max(255);
/**
 * The internet gateways an external address serves (RFD 21: a route to a
 * gateway narrows the sources a packet may leave from): one id or a set;
 * absent, gateway 0 (the one a route names when it gives no `id`).
 */
const igws = z.union([igwId, z.array(igwId).min(1).max(16)]).optional();
export const ExternalIp = z.strictObject({ ip, igw: igws });
export const SnatBlock = z.strictObject({ ip, firstPort: port, lastPort: port, igw: igws })
  .refine((s) => s.firstPort <= s.lastPort, "firstPort must not exceed lastPort");

/** A port's external addresses: SNAT, an ephemeral IP, floating IPs. */
export const ExternalIps = z.strictObject({
  /** One SNAT block, or one per internet gateway (`igw`). */
  snat: z.union([SnatBlock, z.array(SnatBlock).max(8)]).optional(),
  /** The ephemeral IP, or one per address family. */
  ephemeral: z.union([ip, ExternalIp, z.array(z.union([ip, ExternalIp])).min(1).max(2)]).optional()
    .refine((e) => !Array.isArray(e) || e.length < 2 || isV4(typeof e[0] === "string" ? e[0] : e[0].ip) !== isV4(typeof e[1] === "string" ? e[1] : e[1].ip),
      "one ephemeral IP per address family"),
  floating: z.array(z.union([ip, ExternalIp])).default([]),
});

export const V2pMapping = z.strictObject({ ip, mac, underlay: ipv6, vni: vni.optional() });

/** A multicast group guests may join and send to: not unicast, not link scope. */
export const group = z.string().superRefine((s, ctx) => {
  const problem = groupProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
/** A source in a multicast source filter: a unicast address a sender can have (not a special-use one). */
export const SourceAddress = z.string().superRefine((s, ctx) => {
  const problem = isIP(s) === 0 ? "expected an IP address" : sourceProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const groupFilter = {
  group,
  mode: z.enum(["include", "exclude"]).default("exclude"),
  sources: z.array(SourceAddress).max(256).default([]),
};
const sameFamily = (g: { group: string; sources: string[] }) => isIP(g.group) === 0 || g.sources.every((s) => isIP(s) === 0 || isV4(s) === isV4(g.group));
/**
 * A group the port has joined with an IGMPv3/MLDv2 source filter (RFC 3376
 * §3.1): `include` takes only the listed sources, `exclude` all but them
 * (`exclude` with no sources: any source). INCLUDE {} is no membership, so
 * it is refused here; a learned report that says it removes the group.
 */
export const MulticastGroup = z.strictObject(groupFilter)
  .refine((g) => g.mode === "exclude" || g.sources.length > 0, "an include filter needs at least one source")
  .refine(sameFamily, "sources must be of the group's address family");
/** A request to join a group (the sled API): as MulticastGroup, but INCLUDE {} is taken, and means leaving it. */
export const MulticastJoin = z.strictObject(groupFilter).refine(sameFamily, "sources must be of the group's address family");
/** Multicast to physical: an overlay group and the admin-local underlay group (ff04::/16) that carries it. */
export const M2pMapping = z.strictObject({ group, underlay: ipv6.refine((s) => isIP(s) === 6 && isUnderlayGroup(s), "expected an underlay group in ff04::/16") });

/** A DHCPv4 classless static route (RFC 3442): a prefix without host bits, and a router on the guest's subnet or 0.0.0.0 (on the link). */
export const StaticRoute = z.strictObject({ dest: cidr4, via: ipv4 })
  .refine((r) => !hasHostBits(r.dest), { message: "the prefix has bits set past its length", path: ["dest"] });

/** A prefix with host bits set ("10.0.0.1/8"); false for anything else, malformed text included (its own check says so). */
function hasHostBits(s: string): boolean {
  try { return parsePrefix(s).addr.some((b, i) => b !== ip16(s.split("/")[0])[i]); } catch { return false; }
}

/** The search list's limit: it goes out as DHCPv4 option 119 in pieces of 255 bytes, and the whole lease must fit a 1500-byte frame. */
const SEARCH_BYTES = 512;

export const Dhcp = z.strictObject({
  dnsServers: z.array(ip).max(4).default([]),
  /** The guest's domain: DHCPv4 option 15, and with hostname the DHCPv6 FQDN. */
  domainName: dnsName.optional(),
  /** The guest's host name: DHCPv4 option 12, and (followed by domainName) its DHCPv6 FQDN, option 39. */
  hostname: hostLabel.optional(),
  /** Domains a resolver appends to a short name: DHCPv4 option 119 (RFC 3397), DHCPv6 option 24 (RFC 3646). */
  domainSearch: z.array(dnsName).max(16).default([])
    .refine((l) => l.some((n) => dnsNameProblem(n)) || encodeDnsNames(l).length <= SEARCH_BYTES, `the search list may take at most ${SEARCH_BYTES} bytes encoded`),
  /**
   * DHCPv4 option 121 routes (RFC 3442), sent before the default route via
   * the gateway that always ends the option (a client that takes option 121
   * ignores the router option); a 0.0.0.0/0 route here replaces that one.
   */
  staticRoutes: z.array(StaticRoute).max(15).default([]),
  leaseSeconds: z.number().int().min(60).max(0xffffffff).default(86400),
  mtu: z.number().int().min(576).max(9000).default(1500),
});

const mbps = z.number().positive().max(400_000);
export const BandwidthClass = z.strictObject({
  name: label,
  protocols: z.array(FirewallProtocol).default([]),
  ports: z.array(portRange).default([]),
  inMbps: mbps.optional(),
  outMbps: mbps.optional(),
});
export const Bandwidth = z.strictObject({
  /** Limits for the whole port, Mbit/s of frames (before encapsulation). */
  inMbps: mbps.optional(),
  outMbps: mbps.optional(),
  /** Bucket depth; default 1.5 × one MTU frame or 300 ms of the rate, whichever is larger (TCP needs the depth). */
  burstBytes: z.number().int().min(1514).optional(),
  classes: z.array(BandwidthClass).max(15).default([]),
});

export const PortConfigSchema = z.strictObject({
  name,
  id: z.number().int().min(0).max(1023).optional(),
  vni: vni.refine((v) => v !== 99, "VNI 99 is reserved for boundary services"),
  guest: z.strictObject({ mac, ipv4: ipv4.optional(), ipv6: ipv6.optional() })
    .refine((g) => g.ipv4 || g.ipv6, "a guest needs an IPv4 or an IPv6 address"),
  subnet: z.strictObject({ ipv4: cidr4.optional(), ipv6: cidr6.optional() }),
  gateway: z.strictObject({ mac, ipv4: ipv4.optional(), ipv6: ipv6.optional() }),
  sled: z.strictObject({
    underlay: ipv6,
    mac: mac.default("02:08:20:00:00:01"),
    nextHopMac: mac.default("02:08:20:ff:ff:01"),
    mtu: z.number().int().min(1280).max(65535).default(9000),
  }),
  /**
   * Boundary services' tunnel endpoint: its underlay address, VNI (99) and the
   * inner destination MAC of frames sent to it (OPTE writes the tunnel-endpoint
   * MAC a8:40:25:77:77:77: boundary services has no presence on the VPC).
   */
  boundary: z.strictObject({ underlay: ipv6, vni: vni.default(99), mac: mac.default(TUNNEL_ENDPOINT_MAC) }).optional(),
  /** What the gateway's DHCPv4 and DHCPv6 servers hand the guest (OPTE's DhcpCfg and more). */
  dhcp: Dhcp.default({ dnsServers: [], domainSearch: [], staticRoutes: [], leaseSeconds: 86400, mtu: 1500 }),
  externalIps: ExternalIps.default({ floating: [] }),
  /** Extra prefixes the guest may send from and/or receive for; `external` ones bypass NAT and may not reach VPC addresses. */
  attachedSubnets: z.array(z.strictObject({
    cidr, send: z.boolean().default(true), receive: z.boolean().default(true), external: z.boolean().default(false),
  })).default([]),
  firewall: z.array(FirewallRule).default([]),
  routes: z.array(Route).default([]),
  v2p: z.array(V2pMapping).default([]),
  /** Groups the guest has joined (set by the control plane or learned from its IGMPv3/MLDv2 reports). */
  multicast: z.array(MulticastGroup).max(256).default([]),
  /** Multicast-to-physical mappings of the groups the guest sends to (the sled also sets them rack-wide). */
  m2p: z.array(M2pMapping).default([]),
  bandwidth: Bandwidth.default({ classes: [] }),
  limits: z.strictObject({
    flows: z.number().int().min(1).max(2_000_000).default(8192),
    /** ICMP errors the engine sends the guest itself (packet too big for the underlay): per second, and in a burst (0: none). */
    icmpErrorsPerSecond: z.number().int().min(0).max(100_000).default(10),
    icmpErrorBurst: z.number().int().min(0).max(100_000).default(10),
  }).default({ flows: 8192, icmpErrorsPerSecond: 10, icmpErrorBurst: 10 }),
  ttlMs: z.strictObject({
    tcpHandshake: z.number().int().positive().optional(), tcpEstablished: z.number().int().positive().optional(),
    tcpClosing: z.number().int().positive().optional(), tcpClosed: z.number().int().positive().optional(),
    udp: z.number().int().positive().optional(), icmp: z.number().int().positive().optional(),
    other: z.number().int().positive().optional(),
  }).default({}),
}).superRefine((c, ctx) => {
  if (c.guest.ipv4 && !c.subnet.ipv4) ctx.addIssue({ code: "custom", path: ["subnet", "ipv4"], message: "required when the guest has an IPv4 address" });
  if (c.guest.ipv6 && !c.subnet.ipv6) ctx.addIssue({ code: "custom", path: ["subnet", "ipv6"], message: "required when the guest has an IPv6 address" });
  if (c.guest.ipv4 && !c.gateway.ipv4) ctx.addIssue({ code: "custom", path: ["gateway", "ipv4"], message: "required when the guest has an IPv4 address" });
  if (c.guest.ipv6 && !c.gateway.ipv6) ctx.addIssue({ code: "custom", path: ["gateway", "ipv6"], message: "required when the guest has an IPv6 address" });
  const ext = c.externalIps;
  if ((ext.snat || ext.ephemeral || ext.floating.length || c.attachedSubnets.some((a) => a.external)) && !c.boundary) {
    ctx.addIssue({ code: "custom", path: ["boundary"], message: "required when the port has external IPs" });
  }
  const groups = c.multicast.map((g) => ip16Text(g.group));
  groups.forEach((g, i) => {
    if (groups.indexOf(g) !== i) ctx.addIssue({ code: "custom", path: ["multicast", i, "group"], message: "the group is listed twice" });
  });
  if (c.dhcp.hostname && c.dhcp.domainName && `${c.dhcp.hostname}.${c.dhcp.domainName.replace(/\.$/, "")}`.length > 253) {
    ctx.addIssue({ code: "custom", path: ["dhcp", "hostname"], message: "the host name in its domain (the DHCPv6 FQDN) is longer than 253 characters" });
  }
  c.dhcp.staticRoutes.forEach((r, i) => {
    const path = ["dhcp", "staticRoutes", i, "via"];
    if (!c.subnet.ipv4) ctx.addIssue({ code: "custom", path, message: "static routes need the guest's IPv4 subnet" });
    else if (r.via !== "0.0.0.0" && !sameNet(r.via, c.subnet.ipv4)) ctx.addIssue({ code: "custom", path, message: `expected 0.0.0.0 (on the link) or an address of ${c.subnet.ipv4}` });
  });
  if (c.routes.some((r) => r.target.type === "internetGateway") && !c.boundary) {
    ctx.addIssue({ code: "custom", path: ["boundary"], message: "required by an internetGateway route" });
  }
});

/** Is `addr` inside `subnet`? (True for malformed text, which its own check refuses.) */
function sameNet(addr: string, subnet: string): boolean {
  try { return prefixText(parsePrefix(`${addr}/${subnet.split("/")[1]}`)) === prefixText(parsePrefix(subnet)); } catch { return true; }
}

/** One spelling per address (ff0e::1 and ff0e:0::1 are one group). */
function ip16Text(s: string): string { return isIP(s) ? ipText(ip16(s)) : s; }

export type PortConfigInput = z.input<typeof PortConfigSchema>;
export type VpcPortConfig = z.output<typeof PortConfigSchema>;
export type FirewallRuleConfig = z.output<typeof FirewallRule>;
export type RouteConfig = z.output<typeof Route>;

export class ConfigError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid port config:\n${issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`).join("\n")}`);
  }
}

/** Validate a parsed JSON document; throws ConfigError listing every problem with its path. */
export function parsePortConfig(json: unknown): VpcPortConfig {
  const r = PortConfigSchema.safeParse(json);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  }
  return r.data;
}
