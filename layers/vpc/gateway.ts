// The gateway layer: the guest's virtual, off-subnet router (RFD 63 "Internal
// DNS" steps 3-4, "Instance to Instance" step 4). The engine answers ARP, NDP,
// DHCPv4/v6 and pings for the gateway itself, and drops frames whose source
// MAC or IP is not the guest's (anti-spoofing, seed 000). The guest's
// IGMPv3/MLDv2 membership reports go to the host, which learns the groups it
// joins from them. Inbound, every frame appears to come from the gateway's MAC.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import {
  HairpinKind, encodeArpParams, encodeIcmp4EchoParams, encodeIcmp6EchoParams,
  encodeNdpNeighborAdvertParams, encodeNdpRouterAdvertParams, encodeDhcp4Params, encodeDhcp6Params,
} from "../program/hairpin-params.js";
import type { VpcPortConfig } from "./config.js";
import { isV4 } from "../program/addr.js";
import { ETHERTYPE, PROTO } from "./constants.js";
import { Reason } from "../../abi/reason.js";
import { linkLocalFromMac } from "./addresses.js";
import { IGMPV3_REPORTS_TO, MLDV2_REPORTS_TO, MLDV2_REPORT_TYPE, MLD_TYPES, groupMac } from "./multicast.js";

const P = {
  spoofMac: 10, arp: 20, arpOther: 21, dhcp: 30, ndp: 40, ndpOther: 45,
  ping: 50, membership: 55, linkOnly: 56, toGateway: 60, spoofIp: 70, etherType: 80,
} as const;

/**
 * DHCPv4 option 121: the port's static routes, then the default route via
 * the gateway (unless they give one), as OPTE always ends its routes with
 * it: a client that takes option 121 ignores option 3 (RFC 3442). OPTE also
 * sends its /32 route to the gateway on the link, because it hands out a /32
 * mask; wopte's mask is the subnet's, which has the gateway on the link.
 */
function classlessRoutes(c: VpcPortConfig): { dest: string; router: string }[] {
  const routes = c.dhcp.staticRoutes.map((r) => ({ dest: r.dest, router: r.via }));
  if (!routes.some((r) => r.dest.endsWith("/0"))) routes.push({ dest: "0.0.0.0/0", router: c.gateway.ipv4! });
  return routes;
}

/** The guest's FQDN for DHCPv6 option 39: its host name in its domain (OPTE's push_fqdn), none without a host name. */
function fqdn(c: VpcPortConfig): string | undefined {
  const { hostname, domainName } = c.dhcp;
  if (!hostname) return undefined;
  return domainName ? `${hostname}.${domainName.replace(/\.$/, "")}` : hostname;
}

export function gatewayLayer(c: VpcPortConfig): LayerDef {
  const rules: Rule[] = [];
  const sendsFrom = (guestIp: string, v4: boolean) =>
    [guestIp, ...c.attachedSubnets.filter((a) => a.send && isV4(a.cidr) === v4).map((a) => a.cidr)];
  let id = 1;
  const add = (priority: number, dir: Rule["dir"], predicates: Predicate[], action: Rule["action"]) =>
    rules.push({ id: id++, dir, priority, predicates, action });
  const deny = (reason: number) => ({ kind: "deny" as const, reason });

  // Anti-spoofing at L2: only the guest's MAC may send.
  add(P.spoofMac, "out", [{ field: "ethSrc", macs: [c.guest.mac], not: true }], deny(Reason.SpoofedSource));
  // Only IPv4, ARP and IPv6 are forwarded.
  add(P.etherType, "out", [{ field: "etherType", values: [ETHERTYPE.ipv4, ETHERTYPE.arp, ETHERTYPE.ipv6], not: true }], deny(Reason.LayerDeny));

  if (c.guest.ipv4 && c.gateway.ipv4 && c.subnet.ipv4) {
    const gw = { gatewayMac: c.gateway.mac, gatewayIp: c.gateway.ipv4 };
    // ARP from the guest about itself only; requests for any other subnet address are
    // answered with the gateway's MAC (proxy ARP) so all traffic reaches the gateway.
    add(P.arp, "out", [
      { field: "arpOp", values: [1] },
      { field: "arpSenderIp", prefixes: [c.guest.ipv4, "0.0.0.0"] },
      { field: "arpTargetIp", prefixes: [c.subnet.ipv4] },
      { field: "arpTargetIp", prefixes: [c.guest.ipv4], not: true },
    ], { kind: "hairpin", hairpin: HairpinKind.ArpReply, params: encodeArpParams({ gatewayMac: c.gateway.mac, gatewayIp: "0.0.0.0" }) });
    add(P.arpOther, "out", [{ field: "etherType", values: [ETHERTYPE.arp] }, { field: "arpSenderIp", prefixes: [c.guest.ipv4, "0.0.0.0"], not: true }], deny(Reason.SpoofedSource));
    add(P.arpOther + 1, "out", [{ field: "etherType", values: [ETHERTYPE.arp] }], deny(Reason.LayerDeny));
    // DHCPv4 from the guest's client port to the server port (DISCOVER comes from 0.0.0.0).
    add(P.dhcp, "out", [
      { field: "proto", values: [PROTO.udp] }, { field: "srcPort", values: [68] }, { field: "dstPort", values: [67] },
      { field: "dstIp", prefixes: ["255.255.255.255", c.gateway.ipv4] },
    ], {
      kind: "hairpin", hairpin: HairpinKind.Dhcp4, params: encodeDhcp4Params({
        gatewayMac: c.gateway.mac, serverIp: c.gateway.ipv4, clientIp: c.guest.ipv4,
        prefixLen: Number(c.subnet.ipv4.split("/")[1]), router: c.gateway.ipv4,
        dnsServers: c.dhcp.dnsServers.filter(isV4), leaseSeconds: c.dhcp.leaseSeconds,
        mtu: c.dhcp.mtu, domainName: c.dhcp.domainName,
        hostName: c.dhcp.hostname, searchList: c.dhcp.domainSearch, classlessRoutes: classlessRoutes(c),
      }),
    });
    add(P.ping, "out", [
      { field: "dstIp", prefixes: [c.gateway.ipv4] }, { field: "proto", values: [PROTO.icmp] }, { field: "icmpType", values: [8] },
      { field: "srcIp", prefixes: [c.guest.ipv4] },
    ], { kind: "hairpin", hairpin: HairpinKind.Icmp4EchoReply, params: encodeIcmp4EchoParams(gw) });
    // IGMPv3 reports tell the host which groups the guest joined; other IGMP never leaves the link.
    add(P.membership, "out", [{ field: "proto", values: [PROTO.igmp] }, { field: "dstIp", prefixes: [IGMPV3_REPORTS_TO] },
      { field: "srcIp", prefixes: [c.guest.ipv4, "0.0.0.0"] }], { kind: "toHost" });
    add(P.linkOnly, "out", [{ field: "proto", values: [PROTO.igmp] }, { field: "srcIp", prefixes: [c.guest.ipv4, "0.0.0.0"] }], deny(Reason.LayerDeny));
    // Nothing else addressed to the gateway leaves the port.
    add(P.toGateway, "out", [{ field: "dstIp", prefixes: [c.gateway.ipv4] }], deny(Reason.LayerDeny));
    add(P.spoofIp, "out", [{ field: "ipVersion", values: [4] }, { field: "srcIp", prefixes: sendsFrom(c.guest.ipv4, true), not: true }], deny(Reason.SpoofedSource));
  } else {
    add(P.arp, "out", [{ field: "etherType", values: [ETHERTYPE.arp] }], deny(Reason.LayerDeny));
    add(P.spoofIp, "out", [{ field: "ipVersion", values: [4] }], deny(Reason.SpoofedSource));
  }

  if (c.guest.ipv6 && c.gateway.ipv6 && c.subnet.ipv6) {
    const guestLl = linkLocalFromMac(c.guest.mac);
    const gwLl = linkLocalFromMac(c.gateway.mac);
    const fromGuest: Predicate = { field: "srcIp", prefixes: [c.guest.ipv6, guestLl, "::"] };
    // Router solicitation → advertisement, as OPTE's gateway sends it: the
    // managed flag and no prefix, so the guest takes its one address from
    // DHCPv6 (no SLAAC address the anti-spoofing rule below would refuse) and
    // no prefix is on-link (everything goes to the router, as with IPv4).
    add(P.ndp, "out", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [133] }, fromGuest], {
      kind: "hairpin", hairpin: HairpinKind.NdpRouterAdvert, params: encodeNdpRouterAdvertParams({
        gatewayMac: c.gateway.mac, curHopLimit: 255, managed: true, mtu: c.dhcp.mtu, prefixes: [],
      }),
    });
    add(P.ndp + 1, "out", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [135] }, fromGuest], {
      kind: "hairpin", hairpin: HairpinKind.NdpNeighborAdvert,
      params: encodeNdpNeighborAdvertParams({ gatewayMac: c.gateway.mac, gatewayIp: c.gateway.ipv6 }),
    });
    add(P.ndp + 2, "out", [
      { field: "proto", values: [PROTO.udp] }, { field: "srcPort", values: [546] }, { field: "dstPort", values: [547] }, fromGuest,
    ], {
      kind: "hairpin", hairpin: HairpinKind.Dhcp6, params: encodeDhcp6Params({
        gatewayMac: c.gateway.mac, address: c.guest.ipv6, preferredLifetime: c.dhcp.leaseSeconds,
        validLifetime: c.dhcp.leaseSeconds, dnsServers: c.dhcp.dnsServers.filter((s) => !isV4(s)),
        fqdn: fqdn(c), searchList: c.dhcp.domainSearch,
      }),
    });
    // Other neighbor discovery (advertisements, redirects, solicitations for others) stays on the port.
    add(P.ndpOther, "out", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [[133, 137]] }], deny(Reason.LayerDeny));
    add(P.ping, "out", [
      { field: "dstIp", prefixes: [c.gateway.ipv6, gwLl] }, { field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [128] },
    ], { kind: "hairpin", hairpin: HairpinKind.Icmp6EchoReply, params: encodeIcmp6EchoParams({ gatewayMac: c.gateway.mac, gatewayIp: c.gateway.ipv6 }) });
    // MLDv2 reports go to the host as IGMPv3 ones do; other MLD stays on the link.
    add(P.membership, "out", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [MLDV2_REPORT_TYPE] },
      { field: "dstIp", prefixes: [MLDV2_REPORTS_TO] }, fromGuest], { kind: "toHost" });
    add(P.linkOnly, "out", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: MLD_TYPES }, fromGuest], deny(Reason.LayerDeny));
    add(P.toGateway, "out", [{ field: "dstIp", prefixes: [c.gateway.ipv6, gwLl] }], deny(Reason.LayerDeny));
    add(P.spoofIp, "out", [{ field: "ipVersion", values: [6] }, { field: "srcIp", prefixes: sendsFrom(c.guest.ipv6, false), not: true }], deny(Reason.SpoofedSource));
  } else {
    add(P.spoofIp, "out", [{ field: "ipVersion", values: [6] }], deny(Reason.SpoofedSource));
  }

  // Inbound neighbor discovery never reaches the guest: its only neighbour is
  // the gateway, which the engine plays itself (RFC 4861 messages are
  // link-local; one arriving through the overlay is someone else's link).
  add(1, "in", [{ field: "proto", values: [PROTO.icmpv6] }, { field: "icmpType", values: [[133, 137]] }], deny(Reason.LayerDeny));
  // Inbound: the guest sees every frame as coming from its gateway, a group's
  // traffic addressed to the group's MAC whatever the sender's sled put there.
  for (const g of c.multicast) {
    add(90, "in", [{ field: "dstIp", prefixes: [g.group] }], { kind: "modify", set: [{ op: "ethSrc", mac: c.gateway.mac }, { op: "ethDst", mac: groupMac(g.group) }] });
  }
  add(100, "in", [], { kind: "modify", set: [{ op: "ethSrc", mac: c.gateway.mac }, { op: "ethDst", mac: c.guest.mac }] });

  return { name: "gateway", defaultIn: "allow", defaultOut: "allow", rules };
}
