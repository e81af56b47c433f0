// The virtual gateway (RFD 63 "Internal DNS", RFC 826/4861), as OPTE's
// integration tests check it: ARP, pings in both families, router and
// neighbour discovery, anti-spoofing. What the router advertisement offers
// (the managed flag, no prefix: DHCPv6 hands out the one address) and what
// the gateway admits as a source agree.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { eth, ipFrame, ipv6, icmp6, icmpEcho, tcp, csum, TCP_FLAGS } from "../helpers/frames.js";
import { arpRequest } from "../helpers/port-fixture.js";
import { macBytes, ip16, ipText } from "../../layers/program/addr.js";
import { linkLocalFromMac } from "../../layers/vpc/addresses.js";
import { G1, G2, GW_MAC, GW4, guestJson, portOf, overlayFrame, view } from "../helpers/opte-guests.js";

const G_LL = linkLocalFromMac(G1.mac), GW_LL = linkLocalFromMac(GW_MAC);
const mac = (b: Uint8Array, at: number) => Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
const ip6At = (b: Uint8Array, at: number) => ipText(b.slice(at, at + 16));
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const lladdr = (type: 1 | 2, m: string) => cat(Uint8Array.of(type, 1), macBytes(m));
const ns = (src: string, dst: string, target: string, opts = new Uint8Array()) => icmp6(src, dst, 135, 0, cat(new Uint8Array(4), ip16(target), opts));
/** The solicited-node multicast address of `a` and its MAC (RFC 4291 §2.7.1, RFC 2464 §7). */
function solicited(a: string): [string, string] {
  const b = ip16(a);
  const addr = ipText(Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13], b[14], b[15]]));
  return [addr, `33:33:ff:${[b[13], b[14], b[15]].map((x) => x.toString(16).padStart(2, "0")).join(":")}`];
}
const ndpFrame = (dstMac: string, src: string, dst: string, msg: Uint8Array, srcMac = G1.mac) => eth(dstMac, srcMac, 0x86dd, ipv6(src, dst, 58, msg, 255));
/** The ICMPv6 checksum of a reply verifies over its pseudo-header (RFC 4443 §2.3). */
function icmp6Ok(frame: Uint8Array): boolean {
  const ip = frame.subarray(14), len = (ip[4] << 8) | ip[5];
  const pseudo = cat(ip.subarray(8, 40), Uint8Array.of(0, 0, len >> 8, len & 0xff, 0, 0, 0, 58));
  return csum(cat(pseudo, ip.subarray(40, 40 + len))) === 0;
}

describe("gateway", () => {
  it("gateway_icmp4_ping: the gateway answers the guest's echo request with the same id, sequence and data", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    const data = new TextEncoder().encode("reunion\0");
    const r = g1.send(ipFrame(GW_MAC, G1.mac, G1.ip4, GW4, 1, icmpEcho(G1.ip4, GW4, true, 7, 777, data)), Dir.Out);
    expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
    expect(view(r.out)).toMatchObject({ outer: undefined, eth: { src: GW_MAC, dst: G1.mac }, ip: { src: GW4, dst: G1.ip4, proto: 1 }, l4: { type: 0, id: 7 } });
    const icmp = r.out.subarray(34);
    expect([(icmp[6] << 8) | icmp[7], new TextDecoder().decode(icmp.subarray(8)), csum(icmp)]).toEqual([777, "reunion\0", 0]);
  });

  it("gateway_icmpv6_ping: from the guest's link-local and its VPC address to the gateway's link-local", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    for (const src of [G_LL, G1.ip6]) {
      const r = g1.send(ipFrame(GW_MAC, G1.mac, src, GW_LL, 58, icmpEcho(src, GW_LL, true, 7, 777, new TextEncoder().encode("reunion\0"))), Dir.Out);
      expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
      expect(view(r.out)).toMatchObject({ eth: { src: GW_MAC, dst: G1.mac }, ip: { src: GW_LL, dst: src, proto: 58 }, l4: { type: 129, id: 7 } });
      expect(icmp6Ok(r.out)).toBe(true);
    }
  });

  it("arp_gateway: an ARP request for the gateway gets the gateway's MAC", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    const r = g1.send(arpRequest(G1.mac, G1.ip4, GW4), Dir.Out);
    expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
    const a = r.out.subarray(14);
    expect([mac(r.out, 0), mac(r.out, 6), (r.out[12] << 8) | r.out[13]]).toEqual([G1.mac, GW_MAC, 0x0806]);
    expect([(a[6] << 8) | a[7], mac(a, 8), a.subarray(14, 18).join("."), mac(a, 18), a.subarray(24, 28).join(".")])
      .toEqual([2, GW_MAC, GW4, G1.mac, G1.ip4]);
  });

  it("gateway_router_advert_reply: a router solicitation gets a managed advertisement with the MTU and no prefix", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    const rs = icmp6(G_LL, "ff02::2", 133, 0, cat(new Uint8Array(4), lladdr(1, G1.mac)));
    const r = g1.send(ndpFrame("33:33:00:00:00:02", G_LL, "ff02::2", rs), Dir.Out);
    expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
    expect(view(r.out)).toMatchObject({ eth: { src: GW_MAC, dst: G1.mac }, ip: { src: GW_LL, dst: G_LL, ttl: 255, proto: 58 } });
    const ra = r.out.subarray(54);
    expect(icmp6Ok(r.out)).toBe(true);
    // type, code; cur hop limit 255, flags M only; router lifetime 9000 s; reachable time and retrans timer unspecified
    expect([ra[0], ra[1], ra[4], ra[5], (ra[6] << 8) | ra[7], ...ra.subarray(8, 16)]).toEqual([134, 0, 255, 0x80, 9000, 0, 0, 0, 0, 0, 0, 0, 0]);
    // options: the gateway's link-layer address, then the MTU; no prefix information
    expect([...ra.subarray(16)]).toEqual([1, 1, ...macBytes(GW_MAC), 5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
  });

  it("anti_spoof: a spoofed source IP, MAC or both is dropped by the gateway; the advertised way of addressing is admitted", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    const syn = (srcMac: string, src: string, dst: string) => ipFrame(GW_MAC, srcMac, src, dst, 6, tcp(src, dst, 44490, 80, TCP_FLAGS.SYN));
    const other = "a8:40:25:f0:11:22";
    for (const [m, src] of [[G1.mac, "172.30.0.240"], [other, G1.ip4], [other, "172.30.0.240"]]) {
      expect(g1.send(syn(m, src, G2.ip4), Dir.Out)).toMatchObject({ reason: "SpoofedSource", layerName: "gateway" });
    }
    // an address SLAAC would form in the VPC prefix is not the guest's (no prefix was advertised) …
    const slaac = ipText(Uint8Array.from([...ip16("fd00::").subarray(0, 8), ...ip16(G_LL).subarray(8)]));
    expect(g1.send(syn(G1.mac, slaac, G2.ip6), Dir.Out)).toMatchObject({ reason: "SpoofedSource", layerName: "gateway" });
    // … the address DHCPv6 hands out is
    expect(g1.send(syn(G1.mac, G1.ip6, G2.ip6), Dir.Out).reason).toBe("pass");
  });

  it("test_gateway_neighbor_advert_reply: solicitations for the gateway are answered, DAD for the guest's address and other targets are not", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    // DAD for the guest's own tentative address: nothing (the guest must be able to take it)
    const [snG, snGMac] = solicited(G_LL);
    expect(g1.send(ndpFrame(snGMac, "::", snG, ns("::", snG, G_LL)), Dir.Out).verdict).toBe(2);
    // DAD for the gateway's link-local: defended, to all-nodes, S clear
    const [snGw, snGwMac] = solicited(GW_LL);
    const dad = g1.send(ndpFrame(snGwMac, "::", snGw, ns("::", snGw, GW_LL)), Dir.Out);
    expect(dad.reason).toBe("hairpin");
    expect([mac(dad.out, 0), mac(dad.out, 6), ip6At(dad.out, 22), ip6At(dad.out, 38), dad.out[21]]).toEqual(["33:33:00:00:00:01", GW_MAC, GW_LL, "ff02::1", 255]);
    expect([dad.out[54], dad.out[58], ip6At(dad.out, 62), ...dad.out.subarray(78)]).toEqual([136, 0xa0, GW_LL, 2, 1, ...macBytes(GW_MAC)]);
    expect(icmp6Ok(dad.out)).toBe(true);
    // reachability of the gateway, unicast: answered to the guest, R|S|O
    const uni = g1.send(ndpFrame(GW_MAC, G_LL, GW_LL, ns(G_LL, GW_LL, GW_LL, lladdr(1, G1.mac))), Dir.Out);
    expect(uni.reason).toBe("hairpin");
    expect([mac(uni.out, 0), ip6At(uni.out, 22), ip6At(uni.out, 38), uni.out[58], ip6At(uni.out, 62), ...uni.out.subarray(78)])
      .toEqual([G1.mac, GW_LL, G_LL, 0xe0, GW_LL, 2, 1, ...macBytes(GW_MAC)]);
    expect(icmp6Ok(uni.out)).toBe(true);
    // resolving any other link-local address: nothing else is on the link
    const [snX, snXMac] = solicited("fe80::1:1:1:1");
    expect(g1.send(ndpFrame(snXMac, G_LL, snX, ns(G_LL, snX, "fe80::1:1:1:1")), Dir.Out)).toMatchObject({ verdict: 2, layerName: "gateway" });
  });

  it("outbound_ndp_dropped: a neighbour advertisement the guest sends (omicron#2857) never leaves the port", async () => {
    const g1 = await portOf(guestJson(G1, G2, (c) => { c.routes = [{ dest: "::/0", target: { type: "internetGateway" } }]; }));
    const na = icmp6(G1.ip6, "ff02::1", 136, 0, cat(Uint8Array.of(0x20, 0, 0, 0), ip16("fd77:e9d2:9cd9:2000::6"), lladdr(2, G1.mac)));
    expect(g1.send(ndpFrame("ff:ff:ff:ff:ff:ff", G1.ip6, "ff02::1", na), Dir.Out)).toMatchObject({ reason: "LayerDeny", layerName: "gateway" });
  });

  it("inbound_ndp_dropped_at_gateway: a neighbour solicitation arriving through the overlay is dropped by the gateway layer", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    const inner = ndpFrame(G1.mac, G2.ip6, G1.ip6, ns(G2.ip6, G1.ip6, G1.ip6, lladdr(1, G2.mac)), G2.mac);
    // the firewall lets G2 talk to G1 (same VPC), just not this subset of ICMPv6
    expect(g1.send(overlayFrame(G2, G1, inner), Dir.In)).toMatchObject({ reason: "LayerDeny", layerName: "gateway" });
    const ping = ipFrame(G1.mac, G2.mac, G2.ip6, G1.ip6, 58, icmpEcho(G2.ip6, G1.ip6, true, 1, 1));
    expect(g1.send(overlayFrame(G2, G1, ping), Dir.In).reason).toBe("pass");
  });
});
