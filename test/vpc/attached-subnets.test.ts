// Attached subnets and transit CIDRs (RFD 599, RFD 21 "instance as router
// target"), as OPTE's integration tests check them: a guest sends from and
// receives for a prefix beyond its own address, in both families; an
// internal one is VPC traffic, an external one is internet traffic that
// bypasses NAT and may never reach a VPC address. A prefix written as a CIDR
// (8.0.0.0/8) is sorted into its family like an address.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, icmpEcho } from "../helpers/frames.js";
import { G1, G2, GW_MAC, BOUNDARY, guestJson, portOf, overlayFrame, fromBoundary, view, PortJson } from "../helpers/opte-guests.js";

const families = [
  { name: "IPv4", internal: "10.0.0.0/8", mine: "10.0.123.45", external: "8.0.0.0/8", extIp: "8.8.8.8", partner: "1.1.1.1", transit: "192.168.0.0/16", transitIp: "192.168.0.1", peer: G2.ip4, self: G1.ip4 },
  { name: "IPv6", internal: "fd00:a::/48", mine: "fd00:a::45", external: "2001:db8:8::/48", extIp: "2001:db8:8::8", partner: "2606:4700::1111", transit: "fd00:c0a8::/32", transitIp: "fd00:c0a8::1", peer: G2.ip6, self: G1.ip6 },
] as const;

const echo = (srcMac: string, dstMac: string, src: string, dst: string, request: boolean) =>
  ipFrame(dstMac, srcMac, src, dst, src.includes(":") ? 58 : 1, icmpEcho(src, dst, request, 7777, 1));
/** Inbound ICMPv6 needs its own allow: the default rules open ICMP (v4) only, as OPTE's do. */
const allowIcmp6 = (c: PortJson) => c.firewall.push({ name: "icmp6-in", direction: "in", priority: 100, action: "allow", protocols: ["icmpv6"] });

describe("attached subnets", () => {
  it.each(families)("internal_attached_subnets ($name): a guest receives for and sends from an internal attached subnet; detached, neither", async (f) => {
    const attached = (c: PortJson) => { c.attachedSubnets = [{ cidr: f.internal }]; allowIcmp6(c); };
    const g1 = await portOf(guestJson(G1, G2, attached));
    // the partner pings an address of the attached subnet: delivered unchanged, from the gateway's MAC
    const req = g1.send(overlayFrame(G2, G1, echo(G2.mac, G1.mac, f.peer, f.mine, true)), Dir.In);
    expect([req.reason, req.layerName]).toEqual(["pass", "firewall"]); // a pass names the layer whose rule allowed it
    expect(view(req.out)).toEqual({ eth: { src: GW_MAC, dst: G1.mac, type: f.name === "IPv4" ? "0x0800" : "0x86dd" }, ip: { src: f.peer, dst: f.mine, ttl: 64, proto: f.name === "IPv4" ? 1 : 58 }, l4: { type: f.name === "IPv4" ? 8 : 128, id: 7777 } });
    // and the guest answers from that address, inside the VPC
    const rep = g1.send(echo(G1.mac, GW_MAC, f.mine, f.peer, false), Dir.Out);
    expect(rep.reason).toBe("pass");
    expect(view(rep.out)).toMatchObject({ outer: { src: G1.sled, dst: G2.sled, vni: 0x123456 }, eth: { src: G1.mac, dst: G2.mac }, ip: { src: f.mine, dst: f.peer } });

    // without the attachment the overlay refuses the address and the gateway the source
    const detached = await portOf(guestJson(G1, G2, allowIcmp6));
    const inAfter = detached.send(overlayFrame(G2, G1, echo(G2.mac, G1.mac, f.peer, f.mine, true)), Dir.In);
    expect([inAfter.reason, inAfter.layerName]).toEqual(["NotForPort", "overlay"]);
    const outAfter = detached.send(echo(G1.mac, GW_MAC, f.mine, f.peer, false), Dir.Out);
    expect([outAfter.reason, outAfter.layerName]).toEqual(["SpoofedSource", "gateway"]);
  });

  it.each(families)("external_attached_subnets_dont_apply_nat ($name): internet traffic to and from an external subnet passes untranslated", async (f) => {
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.attachedSubnets = [{ cidr: f.external, external: true }];
      c.routes = [{ dest: f.name === "IPv4" ? "0.0.0.0/0" : "::/0", target: { type: "internetGateway" } }];
      allowIcmp6(c);
    }));
    const req = g1.send(fromBoundary(G1, echo("a8:40:25:77:77:77", G1.mac, f.partner, f.extIp, true)), Dir.In);
    expect(req.reason).toBe("pass");
    expect(view(req.out)).toMatchObject({ eth: { src: GW_MAC, dst: G1.mac }, ip: { src: f.partner, dst: f.extIp } });
    const rep = g1.send(echo(G1.mac, GW_MAC, f.extIp, f.partner, false), Dir.Out);
    expect(rep.reason).toBe("pass");
    expect(view(rep.out)).toMatchObject({ outer: { src: G1.sled, dst: BOUNDARY, vni: 99 }, ip: { src: f.extIp, dst: f.partner } });
  });

  it.each(families)("external_attached_subnets_cannot_reach_internal ($name): from an external subnet to a VPC address is dropped by the overlay", async (f) => {
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.attachedSubnets = [{ cidr: f.external, external: true }];
      // a custom VPC-subnet route and an instance route are refused alike
      c.routes = [{ dest: f.name === "IPv4" ? "172.31.0.0/24" : "fd01::/64", target: { type: "vpcSubnet" } }];
    }));
    const r = g1.send(echo(G1.mac, GW_MAC, f.extIp, f.peer, true), Dir.Out);
    expect([r.reason, r.layerName]).toEqual(["LayerDeny", "overlay"]);
    const other = g1.send(echo(G1.mac, GW_MAC, f.extIp, f.name === "IPv4" ? "172.31.0.9" : "fd01::9", true), Dir.Out);
    expect([other.reason, other.layerName]).toEqual(["LayerDeny", "overlay"]);
    // from the guest's own address the same destination is reachable
    expect(g1.send(echo(G1.mac, GW_MAC, f.self, f.peer, true), Dir.Out).reason).toBe("pass");
  });

  it.each(families)("port_as_router_target ($name): a route to an instance carries a transit prefix to it, and it answers from there", async (f) => {
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.routes = [{ dest: f.transit, target: { type: "instance", ip: f.peer } }];
      allowIcmp6(c);
    }));
    const transit = (c: PortJson) => { c.attachedSubnets = [{ cidr: f.transit, send: true, receive: true }]; allowIcmp6(c); };
    const g2 = await portOf(guestJson(G2, G1, transit));
    const out = g1.send(echo(G1.mac, GW_MAC, f.self, f.transitIp, true), Dir.Out);
    expect(out.reason).toBe("pass");
    // towards the instance's sled and NIC; the inner addresses untouched
    expect(view(out.out)).toMatchObject({ outer: { src: G1.sled, dst: G2.sled, vni: 0x123456 }, eth: { src: G1.mac, dst: G2.mac }, ip: { src: f.self, dst: f.transitIp } });
    const delivered = g2.send(out.out, Dir.In);
    expect(delivered.reason).toBe("pass");
    expect(view(delivered.out)).toMatchObject({ eth: { src: GW_MAC, dst: G2.mac }, ip: { src: f.self, dst: f.transitIp } });
    // the reply from the transit address is allowed out by g2 and accepted by g1
    const reply = g2.send(echo(G2.mac, GW_MAC, f.transitIp, f.self, false), Dir.Out);
    expect(reply.reason).toBe("pass");
    expect(view(reply.out)).toMatchObject({ outer: { src: G2.sled, dst: G1.sled }, eth: { dst: G1.mac }, ip: { src: f.transitIp, dst: f.self } });
    expect(g1.send(reply.out, Dir.In).reason).toBe("pass");
    // without the transit prefix g2 neither receives nor sends on it
    const plain = await portOf(guestJson(G2, G1, allowIcmp6));
    expect(plain.send(out.out, Dir.In).reason).toBe("NotForPort");
    expect(plain.send(echo(G2.mac, GW_MAC, f.transitIp, f.self, false), Dir.Out).reason).toBe("SpoofedSource");
  });
});
