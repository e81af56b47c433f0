// Golden packets built independently with scapy (fixtures/packets/*.hex):
// each story parses a real frame, checks the fields a rule or flow key would
// read, and checks our checksums agree with scapy's byte for byte.

import { describe, it, expect, beforeAll } from "vitest";
import { loadPacketEngine, PacketEngine, Reason, fixture, macBig, v4, v4Lo, v6HiLo, toHex } from "../helpers/engine-testing.js";

const L3 = { Arp: 1, Ipv4: 4, Ipv6: 6 };
const NONE = 0xffffffff;
const GUEST_MAC = "a8:40:25:00:00:01";
const GATEWAY_MAC = "00:0a:0b:0c:0d:0e";

let e: PacketEngine;
beforeAll(async () => { e = await loadPacketEngine(); });

/** Zero the L4 checksum, let the engine recompute it, compare with the original bytes. */
function expectRewrittenChecksumMatches(frame: Uint8Array, encap = false) {
  expect(e.parse(frame, encap)).toBe(Reason.None);
  const m = e.meta();
  const csumOff = { 6: 16, 17: 6, 1: 2, 58: 2 }[m.proto as number]!;
  const at = (m.l4 as number) + csumOff;
  const copy = frame.slice();
  copy[at] = 0; copy[at + 1] = 0;
  expect(e.parse(copy, encap)).toBe(Reason.None);
  expect(e.x.l4ChecksumOkAt()).toBe(0);
  e.x.writeL4ChecksumAt();
  expect(toHex(e.read(frame.length))).toBe(toHex(frame));
  expect(e.x.l4ChecksumOkAt()).toBe(1);
}

/** A corrupted payload byte must fail verification. */
function expectCorruptionDetected(frame: Uint8Array, encap = false) {
  const copy = frame.slice();
  copy[copy.length - 1] ^= 0x5a;
  expect(e.parse(copy, encap)).toBe(Reason.None);
  expect(e.x.l4ChecksumOkAt()).toBe(0);
}

describe("guest opens a TCP connection over IPv4 (options in both IP and TCP)", () => {
  const frame = fixture("tcp-ipv4-syn");
  it("parses every layer", () => {
    expect(e.parse(frame)).toBe(Reason.None);
    const m = e.meta();
    expect(m.ethDst).toBe(macBig(GATEWAY_MAC));
    expect(m.ethSrc).toBe(macBig(GUEST_MAC));
    expect(m.vlan).toBe(NONE);
    expect(m.etherType).toBe(0x0800);
    expect(m.l3).toBe(14);
    expect(m.l3Kind).toBe(L3.Ipv4);
    expect(m.l3HdrLen).toBe(24);
    expect(m.srcHi).toBe(0n);
    expect(m.srcLo).toBe(v4Lo("10.0.0.5"));
    expect(m.dstLo).toBe(v4Lo("93.184.216.34"));
    expect(m.ttl).toBe(64);
    expect(m.proto).toBe(6);
    expect(m.l4).toBe(38);
    expect(m.l4HdrLen).toBe(32);
    expect(m.srcPort).toBe(40000);
    expect(m.dstPort).toBe(443);
    expect(m.tcpSeq).toBe(1000);
    expect(m.tcpFlags).toBe(0x02);
    expect(m.tcpWindow).toBe(64240);
    expect(m.payload).toBe(70);
    expect(m.payloadLen).toBe(5);
    expect(m.l3PayloadLen).toBe(37);
    expect(m.encap).toBe(0);
    expect(e.x.ipv4HeaderChecksumOkAt()).toBe(1);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("recomputes scapy's TCP checksum", () => expectRewrittenChecksumMatches(frame));
  it("detects a corrupted payload", () => expectCorruptionDetected(frame));
  it("recomputes scapy's IPv4 header checksum", () => {
    const copy = frame.slice();
    copy[24] = 0; copy[25] = 0;
    expect(e.parse(copy)).toBe(Reason.BadChecksum);
    const p = e.write(copy);
    e.x.ipv4WriteHeaderChecksumAt(p + 14, 24);
    expect(toHex(e.read(frame.length))).toBe(toHex(frame));
  });
  it("ignores Ethernet padding after the IPv4 total length", () => {
    const padded = new Uint8Array(frame.length + 10);
    padded.set(frame);
    padded.fill(0xee, frame.length);
    expect(e.parse(padded)).toBe(Reason.None);
    expect(e.meta().payloadLen).toBe(5);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("is not accepted where Geneve is required", () => {
    expect(e.parse(frame, true)).toBe(Reason.NotEncapsulated);
  });
});

describe("guest sends a DNS query over IPv6 with hop-by-hop and fragment headers", () => {
  const frame = fixture("udp-ipv6-hbh-frag");
  it("walks the extension headers to UDP", () => {
    expect(e.parse(frame)).toBe(Reason.None);
    const m = e.meta();
    expect(m.l3Kind).toBe(L3.Ipv6);
    expect(m.ipv6ExtMask).toBe(1 | 4);
    expect(m.l3HdrLen).toBe(56);
    expect(m.proto).toBe(17);
    expect(m.l3PayloadLen).toBe(8 + 11);
    expect(m.tos).toBe(0x28);
    expect(m.flowLabel).toBe(0x12345);
    expect(m.ttl).toBe(63);
    expect([m.srcHi, m.srcLo]).toEqual(v6HiLo("fd00::5"));
    expect([m.dstHi, m.dstLo]).toEqual(v6HiLo("2001:db8::1"));
    expect(m.fragOffset).toBe(0);
    expect(m.moreFragments).toBe(0);
    expect(m.l4).toBe(14 + 56);
    expect(m.srcPort).toBe(5353);
    expect(m.dstPort).toBe(53);
    expect(m.payloadLen).toBe(11);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("recomputes scapy's UDP checksum", () => expectRewrittenChecksumMatches(frame));
  it("detects a corrupted payload", () => expectCorruptionDetected(frame));
  it("treats a zero UDP checksum over IPv6 as invalid", () => {
    const copy = frame.slice();
    copy[14 + 56 + 6] = 0; copy[14 + 56 + 7] = 0;
    expect(e.parse(copy)).toBe(Reason.None);
    expect(e.x.l4ChecksumOkAt()).toBe(0);
  });
  it("stops after L3 for a non-first fragment", () => {
    const copy = frame.slice();
    copy[14 + 40 + 8 + 2] = 0x00; copy[14 + 40 + 8 + 3] = 0x08 | 1; // offset 1 (8 bytes), M=1
    expect(e.parse(copy)).toBe(Reason.None);
    const m = e.meta();
    expect(m.fragOffset).toBe(8);
    expect(m.moreFragments).toBe(1);
    expect(m.l4).toBe(NONE);
    expect(m.proto).toBe(17);
  });
});

describe("guest pings the gateway over IPv6", () => {
  const frame = fixture("icmpv6-echo");
  it("reads the echo identifier as both ports", () => {
    expect(e.parse(frame)).toBe(Reason.None);
    const m = e.meta();
    expect(m.proto).toBe(58);
    expect(m.icmpType).toBe(128);
    expect(m.icmpCode).toBe(0);
    expect(m.icmpId).toBe(0x1234);
    expect(m.icmpSeq).toBe(7);
    expect(m.srcPort).toBe(0x1234);
    expect(m.dstPort).toBe(0x1234);
    expect(m.payloadLen).toBe(9);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("recomputes scapy's ICMPv6 checksum (pseudo header included)", () => expectRewrittenChecksumMatches(frame));
  it("detects a corrupted payload", () => expectCorruptionDetected(frame));
});

describe("guest pings the gateway over IPv4", () => {
  const frame = fixture("icmpv4-echo");
  it("reads the echo identifier", () => {
    expect(e.parse(frame)).toBe(Reason.None);
    const m = e.meta();
    expect(m.proto).toBe(1);
    expect(m.icmpType).toBe(8);
    expect(m.icmpId).toBe(0x4242);
    expect(m.icmpSeq).toBe(3);
    expect(m.srcPort).toBe(0x4242);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("recomputes scapy's ICMP checksum", () => expectRewrittenChecksumMatches(frame));
  it("detects a corrupted payload", () => expectCorruptionDetected(frame));
});

describe("guest asks who has its gateway (ARP request)", () => {
  it("fills the ARP fields", () => {
    expect(e.parse(fixture("arp-request"))).toBe(Reason.None);
    const m = e.meta();
    expect(m.l3Kind).toBe(L3.Arp);
    expect(m.etherType).toBe(0x0806);
    expect(m.arpOp).toBe(1);
    expect(m.arpSha).toBe(macBig(GUEST_MAC));
    expect(m.arpSpa).toBe(v4("10.0.0.5"));
    expect(m.arpTha).toBe(0n);
    expect(m.arpTpa).toBe(v4("10.0.0.1"));
    expect(m.l4).toBe(NONE);
  });
});

describe("a tagged guest frame", () => {
  it("records the 802.1Q TCI and the inner EtherType", () => {
    expect(e.parse(fixture("vlan-udp-ipv4"))).toBe(Reason.None);
    const m = e.meta();
    expect(m.vlan).toBe((5 << 13) | 100);
    expect(m.etherType).toBe(0x0800);
    expect(m.l3).toBe(18);
    expect(m.dstPort).toBe(4321);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
});

describe("a sled delivers a Geneve frame with the Oxide External option", () => {
  const frame = fixture("geneve-external-tcp-ipv4");
  it("records the underlay and classifies on the inner TCP/IPv4 headers", () => {
    expect(e.parse(frame, true)).toBe(Reason.None);
    const m = e.meta();
    expect(m.encap).toBe(1);
    expect(m.outerEthDst).toBe(macBig("a8:40:25:ff:00:01"));
    expect(m.outerEthSrc).toBe(macBig("a8:40:25:ff:00:02"));
    expect(m.outerL3).toBe(14);
    expect([m.outerSrcHi, m.outerSrcLo]).toEqual(v6HiLo("fd00:1122:3344:101::1"));
    expect([m.outerDstHi, m.outerDstLo]).toEqual(v6HiLo("fd00:1122:3344:102::1"));
    expect(m.outerHopLimit).toBe(255);
    expect(m.outerL4).toBe(54);
    expect(m.outerUdpSrc).toBe(51000);
    expect(m.geneve).toBe(62);
    expect(m.vni).toBe(0xabcd);
    expect(m.geneveOptLen).toBe(4);
    expect(m.geneveFlags).toBe(0);
    expect(m.oxideOptions).toBe(1 << 0);
    expect(m.l2).toBe(74);
    expect(m.ethSrc).toBe(macBig(GUEST_MAC));
    expect(m.l3Kind).toBe(L3.Ipv4);
    expect(m.srcLo).toBe(v4Lo("10.0.0.5"));
    expect(m.dstLo).toBe(v4Lo("172.30.0.9"));
    expect(m.ipv6ExtMask).toBe(0);
    expect(m.flowLabel).toBe(0);
    expect(m.srcPort).toBe(33000);
    expect(m.dstPort).toBe(22);
    expect(m.tcpSeq).toBe(0x01020304);
    expect(m.tcpAck).toBe(0x0a0b0c0d);
    expect(m.tcpFlags).toBe(0x18);
    expect(m.payloadLen).toBe(3);
    expect(e.x.l4ChecksumOkAt()).toBe(1);
  });
  it("recomputes scapy's inner TCP checksum", () => expectRewrittenChecksumMatches(frame, true));
  it("parses as plain outer UDP when encapsulation is not expected", () => {
    expect(e.parse(frame, false)).toBe(Reason.None);
    const m = e.meta();
    expect(m.encap).toBe(0);
    expect(m.proto).toBe(17);
    expect(m.dstPort).toBe(6081);
    expect(e.x.l4ChecksumOkAt()).toBe(1); // scapy's outer UDP checksum
  });
});
