// Every Reason the packet parsers return, each from one crafted frame.
// Frames start from scapy fixtures and change the one field that matters.

import { describe, it, expect, beforeAll } from "vitest";
import { loadPacketEngine, PacketEngine, Reason, fixture } from "../helpers/engine-testing.js";

let e: PacketEngine;
beforeAll(async () => { e = await loadPacketEngine(); });

/** A copy of `frame` with bytes at `at` replaced. */
function patch(frame: Uint8Array, at: number, ...bytes: number[]): Uint8Array {
  const copy = frame.slice();
  copy.set(bytes, at);
  return copy;
}
function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

const tcp4 = fixture("tcp-ipv4-syn");   // Ethernet 14, IPv4 with 4 bytes of options (IHL 6), TCP doff 8
const udp6 = fixture("udp-ipv6-hbh-frag");
const arp = fixture("arp-request");
const icmp4 = fixture("icmpv4-echo");
const gnv = fixture("geneve-external-tcp-ipv4"); // outer eth 0, IPv6 14, UDP 54, Geneve 62, option 70, inner eth 74
const IP = 14;

/** Rebuild tcp4 with a new IPv4 header checksum so later checks are reached. */
function withIpv4Checksum(frame: Uint8Array): Uint8Array {
  const copy = patch(frame, IP + 10, 0, 0);
  const p = e.write(copy);
  e.x.ipv4WriteHeaderChecksumAt(p + IP, (copy[IP] & 0xf) * 4);
  return e.read(copy.length);
}

/** An IPv6/UDP frame whose payload starts with `n` 8-byte destination-options headers. */
function ipv6WithExtChain(n: number): Uint8Array {
  const exts: number[] = [];
  for (let i = 0; i < n; i++) exts.push(i === n - 1 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0);
  const udp = [0, 1, 0, 2, 0, 8, 0, 0];
  const hdr = udp6.slice(0, IP + 40);
  const plen = exts.length + udp.length;
  hdr[IP + 4] = plen >> 8; hdr[IP + 5] = plen & 0xff;
  hdr[IP + 6] = n > 0 ? 60 : 17;
  return concat(hdr, exts, udp);
}

/** The Geneve fixture with `optionBytes` in place of its one 4-byte option. */
function geneveWithOption(optionBytes: number[]): Uint8Array {
  const delta = optionBytes.length - 4;
  const frame = concat(gnv.slice(0, 70), optionBytes, gnv.slice(74));
  const udpLen = ((gnv[58] << 8) | gnv[59]) + delta;
  frame[IP + 4] = udpLen >> 8; frame[IP + 5] = udpLen & 0xff;
  frame[58] = udpLen >> 8; frame[59] = udpLen & 0xff;
  frame[62] = (frame[62] & 0xc0) | (optionBytes.length / 4);
  return frame;
}

describe("Ethernet", () => {
  it("a 10-byte frame is Truncated", () => expect(e.parse(tcp4.slice(0, 10))).toBe(Reason.Truncated));
  it("a VLAN tag cut short is Truncated", () => expect(e.parse(concat(tcp4.slice(0, 12), [0x81, 0, 0, 1]))).toBe(Reason.Truncated));
  it("LLDP is UnsupportedEtherType", () => expect(e.parse(patch(tcp4, 12, 0x88, 0xcc))).toBe(Reason.UnsupportedEtherType));
  it("an 802.1ad S-tag is BadVlan", () => expect(e.parse(patch(tcp4, 12, 0x88, 0xa8))).toBe(Reason.BadVlan));
  it("two stacked 802.1Q tags are BadVlan", () => {
    const frame = concat(tcp4.slice(0, 12), [0x81, 0, 0, 1, 0x81, 0, 0, 2], tcp4.slice(12));
    expect(e.parse(frame)).toBe(Reason.BadVlan);
  });
});

describe("ARP", () => {
  it("a non-Ethernet hardware type is BadArp", () => expect(e.parse(patch(arp, IP, 0, 6))).toBe(Reason.BadArp));
  it("an IPv6 protocol type is BadArp", () => expect(e.parse(patch(arp, IP + 2, 0x86, 0xdd))).toBe(Reason.BadArp));
  it("a cut ARP body is Truncated", () => expect(e.parse(arp.slice(0, 30))).toBe(Reason.Truncated));
});

describe("IPv4", () => {
  it("version 5 is BadVersion", () => expect(e.parse(patch(tcp4, IP, 0x56))).toBe(Reason.BadVersion));
  it("IHL 4 is BadHeaderLength", () => expect(e.parse(patch(tcp4, IP, 0x44))).toBe(Reason.BadHeaderLength));
  it("IHL past the frame is Truncated", () => expect(e.parse(patch(tcp4, IP, 0x4f).slice(0, IP + 40))).toBe(Reason.Truncated));
  it("a total length beyond the frame is BadLength", () => {
    expect(e.parse(patch(tcp4, IP + 2, 0x05, 0xdc))).toBe(Reason.BadLength);
  });
  it("a total length shorter than the header is BadLength", () => expect(e.parse(patch(tcp4, IP + 2, 0, 20))).toBe(Reason.BadLength));
  it("a wrong header checksum is BadChecksum", () => expect(e.parse(patch(tcp4, IP + 8, 63))).toBe(Reason.BadChecksum));
  it("under 20 bytes is Truncated", () => expect(e.parse(tcp4.slice(0, IP + 19))).toBe(Reason.Truncated));
});

describe("IPv6", () => {
  it("version 4 in an IPv6 EtherType is BadVersion", () => expect(e.parse(patch(udp6, IP, 0x40))).toBe(Reason.BadVersion));
  it("a payload length beyond the frame is BadLength", () => expect(e.parse(patch(udp6, IP + 4, 0x05, 0xdc))).toBe(Reason.BadLength));
  it("8 extension headers are walked", () => {
    expect(e.parse(ipv6WithExtChain(8))).toBe(Reason.None);
    expect(e.meta().proto).toBe(17);
    expect(e.meta().l3HdrLen).toBe(40 + 64);
  });
  it("9 extension headers are ExtHeaderLimit", () => expect(e.parse(ipv6WithExtChain(9))).toBe(Reason.ExtHeaderLimit));
  it("an extension header longer than the payload is Truncated", () => {
    const frame = ipv6WithExtChain(1);
    frame[IP + 40 + 1] = 3; // claims 32 bytes
    expect(e.parse(frame)).toBe(Reason.Truncated);
  });
  it("under 40 bytes is Truncated", () => expect(e.parse(udp6.slice(0, IP + 39))).toBe(Reason.Truncated));
  it("a Hop-by-Hop header right after the IPv6 header is walked; anywhere else it is HopByHopNotFirst (RFC 8200 §4.1)", () => {
    const first = ipv6WithExtChain(2);
    first[IP + 6] = 0;                                   // IPv6 → Hop-by-Hop → Destination Options → UDP
    expect(e.parse(first)).toBe(Reason.None);
    expect(e.meta().ipv6ExtMask).toBe(1 | 8);
    const second = ipv6WithExtChain(2);
    second[IP + 40] = 0;                                 // IPv6 → Destination Options → Hop-by-Hop → UDP
    expect(e.parse(second)).toBe(Reason.HopByHopNotFirst);
    const twice = ipv6WithExtChain(2);
    twice[IP + 6] = 0; twice[IP + 40] = 0;               // Hop-by-Hop twice
    expect(e.parse(twice)).toBe(Reason.HopByHopNotFirst);
  });
});

describe("TCP", () => {
  it("data offset 4 is BadHeaderLength", () => expect(e.parse(patch(tcp4, 38 + 12, 0x40))).toBe(Reason.BadHeaderLength));
  it("data offset past the segment is Truncated", () => expect(e.parse(patch(tcp4, 38 + 12, 0xf0))).toBe(Reason.Truncated));
  it("a segment under 20 bytes is Truncated", () => {
    const frame = withIpv4Checksum(patch(tcp4, IP + 2, 0, 24 + 19).slice(0, IP + 24 + 19));
    expect(e.parse(frame)).toBe(Reason.Truncated);
  });
});

describe("UDP", () => {
  const UDP = IP + 56;
  it("a length beyond the IP payload is BadLength", () => expect(e.parse(patch(udp6, UDP + 4, 0, 200))).toBe(Reason.BadLength));
  it("a length under 8 is BadUdp", () => expect(e.parse(patch(udp6, UDP + 4, 0, 7))).toBe(Reason.BadUdp));
});

describe("ICMP", () => {
  it("an ICMPv4 message under 8 bytes is BadIcmp", () => {
    const frame = withIpv4Checksum(patch(icmp4, IP + 2, 0, 20 + 6).slice(0, IP + 26));
    expect(e.parse(frame)).toBe(Reason.BadIcmp);
  });
});

/** The Geneve fixture cut to `len` bytes with IPv6 and UDP lengths agreeing, so only Geneve is short. */
function cutUnderlay(frame: Uint8Array, len: number): Uint8Array {
  const cut = frame.slice(0, len);
  const udpLen = len - 54;
  cut[IP + 4] = udpLen >> 8; cut[IP + 5] = udpLen & 0xff;
  cut[58] = udpLen >> 8; cut[59] = udpLen & 0xff;
  return cut;
}

describe("Geneve underlay", () => {
  it("version 1 is BadVersion", () => expect(e.parse(patch(gnv, 62, 0x41), true)).toBe(Reason.BadVersion));
  it("a protocol other than Ethernet is BadGeneve", () => expect(e.parse(patch(gnv, 64, 0x08, 0x00), true)).toBe(Reason.BadGeneve));
  it("an unknown critical option is UnknownCriticalOption", () => {
    expect(e.parse(geneveWithOption([0x01, 0x02, 0x80 | 0x11, 0]), false)).toBe(Reason.None); // without encap it is plain UDP
    expect(e.parse(geneveWithOption([0x01, 0x02, 0x80 | 0x11, 0]), true)).toBe(Reason.UnknownCriticalOption);
  });
  it("an unknown non-critical option is skipped", () => {
    expect(e.parse(geneveWithOption([0x01, 0x02, 0x11, 1, 9, 9, 9, 9]), true)).toBe(Reason.None);
    expect(e.meta().oxideOptions).toBe(0);
  });
  it("an Oxide MSS option records the MSS", () => {
    expect(e.parse(geneveWithOption([0x01, 0x29, 0x02, 1, 0, 0, 0x05, 0x78]), true)).toBe(Reason.None);
    expect(e.meta().oxideOptions).toBe(4);
    expect(e.meta().oxideMss).toBe(1400);
  });
  it("an option overrunning opt_len is BadGeneve", () => {
    expect(e.parse(geneveWithOption([0x01, 0x02, 0x11, 2, 9, 9, 9, 9]), true)).toBe(Reason.BadGeneve);
  });
  it("an Oxide option with the wrong body size is BadGeneve", () => {
    expect(e.parse(geneveWithOption([0x01, 0x29, 0x02, 0]), true)).toBe(Reason.BadGeneve);
  });
  it("opt_len beyond the frame is Truncated", () => expect(e.parse(cutUnderlay(patch(gnv, 62, 0x3f), 100), true)).toBe(Reason.Truncated));
  it("a UDP port other than 6081 is NotEncapsulated", () => expect(e.parse(patch(gnv, 56, 0x12, 0x34), true)).toBe(Reason.NotEncapsulated));
  it("an IPv4 underlay is NotEncapsulated", () => expect(e.parse(tcp4, true)).toBe(Reason.NotEncapsulated));
  it("IPv6 carrying TCP is NotEncapsulated", () => expect(e.parse(patch(gnv, IP + 6, 6), true)).toBe(Reason.NotEncapsulated));
  it("a fragmented underlay packet is Fragment", () => {
    const frag = [17, 0, 0, 1, 0, 0, 0, 42]; // offset 0, M=1
    const frame = concat(gnv.slice(0, IP + 40), frag, gnv.slice(IP + 40));
    frame[IP + 6] = 44;
    const plen = ((gnv[IP + 4] << 8) | gnv[IP + 5]) + 8;
    frame[IP + 4] = plen >> 8; frame[IP + 5] = plen & 0xff;
    expect(e.parse(frame, true)).toBe(Reason.Fragment);
  });
  it("a frame cut inside Geneve is Truncated", () => expect(e.parse(cutUnderlay(gnv, 66), true)).toBe(Reason.Truncated));
  it("a frame cut inside the inner Ethernet header is Truncated", () => expect(e.parse(cutUnderlay(gnv, 80), true)).toBe(Reason.Truncated));
  it("an outer length field beyond the frame is BadLength", () => expect(e.parse(gnv.slice(0, 66), true)).toBe(Reason.BadLength));
  it("an inner frame with a bad IPv4 checksum is BadChecksum", () => expect(e.parse(patch(gnv, 74 + 14 + 8, 1), true)).toBe(Reason.BadChecksum));
});
