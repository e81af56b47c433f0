// A guest reaching the internet (RFD 63 "NATing Out"), as OPTE's integration
// tests check it, in both families: the source becomes an external address
// (SNAT with a port from the guest's block, or the ephemeral IP 1:1), the
// frame goes to boundary services on VNI 99 with the tunnel endpoint's MAC
// inside and no Geneve option, and the reply comes back to the private
// address; an ICMP echo's identifier is translated like a port.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, tcp, icmpEcho, csum, TCP_FLAGS } from "../helpers/frames.js";
import { G1, G2, GW_MAC, BOUNDARY, TUNNEL_ENDPOINT_MAC, guestJson, portOf, fromBoundary, view, PortJson } from "../helpers/opte-guests.js";

const toInternet = (c: PortJson) => { c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }, { dest: "::/0", target: { type: "internetGateway" } }]; };
const fam = {
  IPv4: { me: G1.ip4, snat: "10.77.77.13", first: 1025, server: "52.10.128.69", partner: "45.55.45.205" },
  IPv6: { me: G1.ip6, snat: "2001:db8::1", first: 4097, server: "2606:2800:220:1:248:1893:25c8:1946", partner: "2001:4860:4860::8888" },
};
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

describe("guest to the internet", () => {
  async function synThroughSnat(f: "IPv4" | "IPv6") {
    const v = fam[f];
    const g1 = await portOf(guestJson(G1, G2, toInternet));
    const r = g1.send(ipFrame(GW_MAC, G1.mac, v.me, v.server, 6, tcp(v.me, v.server, 44490, 80, TCP_FLAGS.SYN)), Dir.Out);
    expect(r.reason).toBe("pass");
    const o = view(r.out);
    expect(o.outer).toMatchObject({ src: G1.sled, dst: BOUNDARY, vni: 99, udpDst: 6081, options: [] });
    expect(o).toMatchObject({ eth: { src: G1.mac, dst: TUNNEL_ENDPOINT_MAC }, ip: { src: v.snat, dst: v.server, proto: 6 }, l4: { sport: v.first, dport: 80 } });
    // outer IPv6 payload, outer UDP and inner IP lengths all agree with the bytes
    const afterV6 = r.out.length - 14 - 40;
    expect([u16(r.out, 18), u16(r.out, 58)]).toEqual([afterV6, afterV6]);
    const inner = r.out.subarray(70 + 14);
    expect(f === "IPv4" ? u16(inner, 2) : u16(inner, 4) + 40).toBe(inner.length);
  }
  it("guest_to_internet_ipv4: a SYN leaves through SNAT to boundary services, lengths consistent", () => synThroughSnat("IPv4"));
  it("guest_to_internet_ipv6: a SYN leaves through SNAT to boundary services, lengths consistent", () => synThroughSnat("IPv6"));

  async function echoThroughSnat(f: "IPv4" | "IPv6") {
    const v = fam[f];
    const proto = f === "IPv4" ? 1 : 58;
    const g1 = await portOf(guestJson(G1, G2, toInternet));
    const data = new TextEncoder().encode("reunion\0");
    const req = (id: number, seq: number) => ipFrame(GW_MAC, G1.mac, v.me, v.partner, proto, icmpEcho(v.me, v.partner, true, id, seq, data));
    const rep = (id: number, seq: number) => fromBoundary(G1, ipFrame(G1.mac, TUNNEL_ENDPOINT_MAC, v.partner, v.snat, proto, icmpEcho(v.partner, v.snat, false, id, seq, data)));
    const out1 = g1.send(req(7, 777), Dir.Out);
    expect(view(out1.out)).toMatchObject({ ip: { src: v.snat, dst: v.partner }, l4: { id: v.first } });
    const in1 = g1.send(rep(v.first, 777), Dir.In);
    expect(view(in1.out)).toMatchObject({ eth: { src: GW_MAC, dst: G1.mac }, ip: { src: v.partner, dst: v.me }, l4: { type: f === "IPv4" ? 0 : 129, id: 7 } });
    if (f === "IPv4") expect(csum(in1.out.subarray(34))).toBe(0);
    const before = g1.e.counters(0);
    const out2 = g1.send(req(7, 778), Dir.Out);
    const in2 = g1.send(rep(v.first, 778), Dir.In);
    expect([view(out2.out).l4?.id, view(in2.out).l4?.id]).toEqual([v.first, 7]);
    const after = g1.e.counters(0);
    expect([after.fastOut - before.fastOut, after.fastIn - before.fastIn]).toEqual([1, 1]);
    // the ICMP checksums stay right through the cached rewrite
    if (f === "IPv4") expect([csum(out2.out.subarray(70 + 14 + 20)), csum(in2.out.subarray(34))]).toEqual([0, 0]);
    const out3 = g1.send(req(8, 778), Dir.Out);
    expect(view(out3.out).l4?.id).toBe(v.first + 1);
  }
  it("snat_icmp4_echo_rewrite: an echo's identifier is SNAT's port both ways, cached after the first packet; a new identifier takes a new port", () => echoThroughSnat("IPv4"));
  it("snat_icmp6_echo_rewrite: an echo's identifier is SNAT's port both ways, cached after the first packet; a new identifier takes a new port", () => echoThroughSnat("IPv6"));

  it("ephemeral_ip_preferred_over_snat_outbound: with both, an echo leaves from the ephemeral IP", async () => {
    const g1 = await portOf(guestJson(G1, G2, (c) => { toInternet(c); c.externalIps.ephemeral = "10.60.1.20"; }));
    const r = g1.send(ipFrame(GW_MAC, G1.mac, G1.ip4, "52.10.128.69", 1, icmpEcho(G1.ip4, "52.10.128.69", true, 7777, 1)), Dir.Out);
    expect(view(r.out)).toMatchObject({ ip: { src: "10.60.1.20" }, l4: { id: 7777 } });
    // IPv6 has no ephemeral address here: SNAT
    const r6 = g1.send(ipFrame(GW_MAC, G1.mac, G1.ip6, fam.IPv6.server, 58, icmpEcho(G1.ip6, fam.IPv6.server, true, 7777, 1)), Dir.Out);
    expect(view(r6.out)).toMatchObject({ ip: { src: "2001:db8::1" }, l4: { id: 4097 } });
  });
});
