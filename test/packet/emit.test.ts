// Emitters: they rebuild a scapy-made Geneve frame byte for byte, and for
// any field values parse(emit(x)) == x, with checksums that verify.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { loadPacketEngine, PacketEngine, Reason, fixture, toHex, v6Bytes, v6HiLo } from "../helpers/engine-testing.js";

const NONE = 0xffffffff;
let e: PacketEngine;
beforeAll(async () => { e = await loadPacketEngine(); });

const macHi = (m: bigint) => Number(m >> 32n);
const macLo = (m: bigint) => Number(m & 0xffffffffn);
const big16 = (b: Uint8Array) => Buffer.from(b).readBigUInt64BE(0) * (1n << 64n) + Buffer.from(b).readBigUInt64BE(8);

/** Writes headers one after another into the engine's scratch buffer via its emitters. */
class FrameWriter {
  len = 0;
  constructor(readonly e: PacketEngine) {}
  get p() { return this.e.scratch + this.len; }
  /** Put 16 address bytes far past the frame and return their address. */
  addr(b: Uint8Array, slot: number) { return this.e.write(b, 60000 + slot * 16); }
  eth(dst: bigint, src: bigint, etherType: number, vlan = -1) {
    this.len += this.e.x.emitEthernetAt(this.p, macHi(dst), macLo(dst), macHi(src), macLo(src), vlan, etherType);
  }
  arp(op: number, sha: bigint, spa: number, tha: bigint, tpa: number) {
    this.len += this.e.x.emitArpAt(this.p, op, macHi(sha), macLo(sha), spa, macHi(tha), macLo(tha), tpa);
  }
  ipv4(tos: number, totalLen: number, ident: number, ttl: number, proto: number, src: number, dst: number) {
    this.len += this.e.x.emitIpv4At(this.p, tos, totalLen, ident, ttl, proto, src, dst);
  }
  ipv6(tclass: number, flow: number, plen: number, next: number, hop: number, src: Uint8Array, dst: Uint8Array) {
    const s = this.addr(src, 0), d = this.addr(dst, 1);
    this.len += this.e.x.emitIpv6At(this.p, tclass, flow, plen, next, hop, s, d);
  }
  tcp(sp: number, dp: number, seq: number, ack: number, flags: number, win: number) {
    this.len += this.e.x.emitTcpAt(this.p, sp, dp, seq, ack, flags, win);
  }
  udp(sp: number, dp: number, length: number) { this.len += this.e.x.emitUdpAt(this.p, sp, dp, length); }
  icmpEcho(v6: boolean, type: number, id: number, seq: number) {
    this.len += v6 ? this.e.x.emitIcmpv6EchoAt(this.p, type, 0, id, seq) : this.e.x.emitIcmpEchoAt(this.p, type, 0, id, seq);
  }
  geneve(vni: number, optLen: number, flags: number) { this.len += this.e.x.emitGeneveAt(this.p, vni, optLen, flags); }
  raw(b: Uint8Array) { this.e.write(b, this.len); this.len += b.length; }
  bytes() { return this.e.read(this.len); }
}

describe("emitters rebuild scapy's Geneve/IPv6/UDP frame with an Oxide MSS option", () => {
  it("byte for byte, checksums included", () => {
    const w = new FrameWriter(e);
    const payload = new TextEncoder().encode("hello");
    const innerLen = 14 + 20 + 8 + payload.length;
    const udpLen = 8 + 8 + 8 + innerLen;
    w.eth(0xa84025ff0001n, 0xa84025ff0002n, 0x86dd);
    w.ipv6(0, 0, udpLen, 17, 64, v6Bytes("fd00::1"), v6Bytes("fd00::2"));
    w.udp(1234, 6081, udpLen);
    w.geneve(7, 8, 0);
    w.len += e.x.emitOxideMssAt(w.p, 1400);
    w.eth(0x000a0b0c0d0en, 0xa84025000001n, 0x0800);
    w.ipv4(0, 20 + 8 + payload.length, 0x1234, 64, 17, 0x0a000005, 0x0a000001);
    w.udp(4000, 53, 8 + payload.length);
    w.raw(payload);
    const frame = w.bytes();
    expect(e.parse(frame, true)).toBe(Reason.None);
    expect(e.meta().oxideMss).toBe(1400);
    expect(e.meta().oxideOptions).toBe(1 << 2);
    e.x.writeL4ChecksumAt();
    const withInner = w.bytes();
    expect(e.parse(withInner, false)).toBe(Reason.None);
    e.x.writeL4ChecksumAt();
    expect(toHex(w.bytes())).toBe(toHex(fixture("geneve-mss-udp-ipv4-df")));
  });
});

const mac = fc.bigInt(0n, (1n << 48n) - 1n);
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const vlan = fc.option(u16, { nil: -1 });
const v6addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
const payload = fc.uint8Array({ maxLength: 64 });

describe("parse(emit(x)) == x", () => {
  it("Ethernet (tagged or not) + ARP", () => {
    fc.assert(fc.property(mac, mac, vlan, fc.constantFrom(1, 2), mac, u32, mac, u32,
      (dst, src, tci, op, sha, spa, tha, tpa) => {
        const w = new FrameWriter(e);
        w.eth(dst, src, 0x0806, tci);
        w.arp(op, sha, spa, tha, tpa);
        expect(e.parse(w.bytes())).toBe(Reason.None);
        const m = e.meta();
        expect([m.ethDst, m.ethSrc, m.vlan, m.etherType]).toEqual([dst, src, tci < 0 ? NONE : tci, 0x0806]);
        expect([m.arpOp, m.arpSha, m.arpSpa, m.arpTha, m.arpTpa]).toEqual([op, sha, spa, tha, tpa]);
      }));
  });

  it("IPv4 + TCP", () => {
    fc.assert(fc.property(u8, u16, fc.integer({ min: 1, max: 255 }), u32, u32, u16, u16, u32, u32, u8, u16, payload,
      (tos, ident, ttl, src, dst, sp, dp, seq, ack, flags, win, body) => {
        const w = new FrameWriter(e);
        w.eth(1n, 2n, 0x0800);
        w.ipv4(tos, 20 + 20 + body.length, ident, ttl, 6, src, dst);
        w.tcp(sp, dp, seq, ack, flags, win);
        w.raw(body);
        expect(e.parse(w.bytes())).toBe(Reason.None);
        e.x.writeL4ChecksumAt();
        expect(e.x.l4ChecksumOkAt()).toBe(1);
        const m = e.meta();
        expect([m.tos, m.ttl, m.proto, m.srcLo, m.dstLo, m.fragOffset, m.moreFragments])
          .toEqual([tos, ttl, 6, (0xffffn << 32n) | BigInt(src), (0xffffn << 32n) | BigInt(dst), 0, 0]);
        expect([m.srcPort, m.dstPort, m.tcpSeq, m.tcpAck, m.tcpFlags, m.tcpWindow, m.payloadLen])
          .toEqual([sp, dp, seq, ack, flags, win, body.length]);
      }));
  });

  it("IPv4 + UDP and ICMP echo", () => {
    fc.assert(fc.property(u32, u32, u16, u16, fc.constantFrom(0, 8), payload, (src, dst, a, b, type, body) => {
      const w = new FrameWriter(e);
      w.eth(1n, 2n, 0x0800);
      w.ipv4(0, 20 + 8 + body.length, 0, 64, 17, src, dst);
      w.udp(a, b, 8 + body.length);
      w.raw(body);
      expect(e.parse(w.bytes())).toBe(Reason.None);
      e.x.writeL4ChecksumAt();
      expect(e.x.l4ChecksumOkAt()).toBe(1);
      expect([e.meta().srcPort, e.meta().dstPort, e.meta().payloadLen]).toEqual([a, b, body.length]);

      const w2 = new FrameWriter(e);
      w2.eth(1n, 2n, 0x0800);
      w2.ipv4(0, 20 + 8 + body.length, 0, 64, 1, src, dst);
      w2.icmpEcho(false, type, a, b);
      w2.raw(body);
      expect(e.parse(w2.bytes())).toBe(Reason.None);
      e.x.writeL4ChecksumAt();
      expect(e.x.l4ChecksumOkAt()).toBe(1);
      const m = e.meta();
      expect([m.icmpType, m.icmpId, m.icmpSeq, m.srcPort, m.dstPort]).toEqual([type, a, b, a, a]);
    }));
  });

  it("IPv6 + UDP / TCP / ICMPv6 echo", () => {
    fc.assert(fc.property(u8, fc.integer({ min: 0, max: 0xfffff }), u8, v6addr, v6addr, fc.constantFrom(6, 17, 58), u16, u16, payload,
      (tclass, flow, hop, src, dst, proto, a, b, body) => {
        const w = new FrameWriter(e);
        const l4Len = (proto === 6 ? 20 : 8) + body.length;
        w.eth(1n, 2n, 0x86dd);
        w.ipv6(tclass, flow, l4Len, proto, hop, src, dst);
        if (proto === 6) w.tcp(a, b, 1, 2, 0x10, 100);
        else if (proto === 17) w.udp(a, b, l4Len);
        else w.icmpEcho(true, 129, a, b);
        w.raw(body);
        expect(e.parse(w.bytes())).toBe(Reason.None);
        e.x.writeL4ChecksumAt();
        expect(e.x.l4ChecksumOkAt()).toBe(1);
        const m = e.meta();
        const hiLo = (b: Uint8Array) => { const v = big16(b); return [v >> 64n, v & ((1n << 64n) - 1n)]; };
        expect([m.tos, m.flowLabel, m.ttl, m.proto, m.l3HdrLen, m.l3PayloadLen]).toEqual([tclass, flow, hop, proto, 40, l4Len]);
        expect([m.srcHi, m.srcLo]).toEqual(hiLo(src));
        expect([m.dstHi, m.dstLo]).toEqual(hiLo(dst));
        expect([m.srcPort, m.dstPort]).toEqual(proto === 58 ? [a, a] : [a, b]);
        expect(m.payloadLen).toBe(body.length);
      }));
  });

  const option = fc.oneof(
    fc.record({ kind: fc.constant("external" as const) }),
    fc.record({ kind: fc.constant("mss" as const), mss: u32 }),
    fc.record({ kind: fc.constant("multicast" as const), mode: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("other" as const), cls: fc.integer({ min: 0, max: 0x0128 }), type: fc.integer({ min: 0, max: 0x7f }), words: fc.integer({ min: 0, max: 4 }) }),
  );

  it("Geneve with options over IPv6/UDP", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 3 }), fc.array(option, { maxLength: 5 }), u16,
      (vni, flags, opts, sport) => {
        // Options first, far from the frame, to learn their length.
        const o = new FrameWriter(e);
        o.len = 30000;
        let want = 0, mss = 0;
        for (const opt of opts) {
          if (opt.kind === "external") { o.len += e.x.emitOxideExternalAt(o.p); want |= 1; }
          if (opt.kind === "multicast") { o.len += e.x.emitOxideMulticastAt(o.p, opt.mode); want |= 2; }
          if (opt.kind === "mss") { o.len += e.x.emitOxideMssAt(o.p, opt.mss); want |= 4; mss = opt.mss; }
          if (opt.kind === "other") o.len += e.x.emitGeneveOptionAt(o.p, opt.cls, opt.type, 0, opt.words * 4);
        }
        const options = e.read(o.len - 30000, 30000);
        const inner = 14 + 20 + 8;
        const udpLen = 8 + 8 + options.length + inner;
        const w = new FrameWriter(e);
        w.eth(5n, 6n, 0x86dd);
        w.ipv6(0, 0, udpLen, 17, 255, v6Bytes("fd00::1"), v6Bytes("fd00::2"));
        w.udp(sport, 6081, udpLen);
        w.geneve(vni, options.length, flags);
        w.raw(options);
        w.eth(7n, 8n, 0x0800);
        w.ipv4(0, 28, 0, 64, 17, 1, 2);
        w.udp(1, 2, 8);
        expect(e.parse(w.bytes(), true)).toBe(Reason.None);
        const m = e.meta();
        expect([m.encap, m.vni, m.geneveFlags, m.geneveOptLen, m.oxideOptions, m.outerUdpSrc])
          .toEqual([1, vni, flags, options.length, want, sport]);
        if (want & 4) expect(m.oxideMss).toBe(mss);
        expect([m.outerSrcHi, m.outerSrcLo]).toEqual(v6HiLo("fd00::1"));
        expect([m.ethDst, m.ethSrc, m.srcPort, m.dstPort]).toEqual([7n, 8n, 1, 2]);
      }));
  });
});
