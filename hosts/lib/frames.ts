// Building frames by hand, independently of the engine (tests, the rack demo
// and its traffic generators): Ethernet,
// IPv4/IPv6, TCP/UDP/ICMP with full checksums (RFC 1071), and Geneve.

import { ip16, parseIpv4, macBytes } from "../../layers/program/addr.js";

export function csum(bytes: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) s += bytes[bytes.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function eth(dst: string, src: string, type: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(14);
  h.set(macBytes(dst), 0); h.set(macBytes(src), 6);
  h[12] = type >> 8; h[13] = type & 0xff;
  return cat(h, payload);
}

function isV6(a: string): boolean { return a.includes(":"); }

function pseudo(src: string, dst: string, proto: number, len: number): Uint8Array {
  if (isV6(src)) {
    const p = new Uint8Array(40);
    p.set(ip16(src), 0); p.set(ip16(dst), 16);
    new DataView(p.buffer).setUint32(32, len); p[39] = proto;
    return p;
  }
  const p = new Uint8Array(12);
  p.set(parseIpv4(src), 0); p.set(parseIpv4(dst), 4);
  p[9] = proto; p[10] = len >> 8; p[11] = len & 0xff;
  return p;
}

function withL4Csum(src: string, dst: string, proto: number, seg: Uint8Array, at: number): Uint8Array {
  seg[at] = 0; seg[at + 1] = 0;
  const c = proto === 1 ? csum(seg) : csum(cat(pseudo(src, dst, proto, seg.length), seg));
  const v = proto === 17 && c === 0 ? 0xffff : c;
  seg[at] = v >> 8; seg[at + 1] = v & 0xff;
  return seg;
}

export function tcp(src: string, dst: string, sport: number, dport: number, flags: number, payload = new Uint8Array(), seq = 1000, ack = 0): Uint8Array {
  const s = new Uint8Array(20 + payload.length);
  const dv = new DataView(s.buffer);
  dv.setUint16(0, sport); dv.setUint16(2, dport); dv.setUint32(4, seq); dv.setUint32(8, ack);
  s[12] = 5 << 4; s[13] = flags; dv.setUint16(14, 65535);
  s.set(payload, 20);
  return withL4Csum(src, dst, 6, s, 16);
}

export function udp(src: string, dst: string, sport: number, dport: number, payload = new Uint8Array()): Uint8Array {
  const s = new Uint8Array(8 + payload.length);
  const dv = new DataView(s.buffer);
  dv.setUint16(0, sport); dv.setUint16(2, dport); dv.setUint16(4, s.length);
  s.set(payload, 8);
  return withL4Csum(src, dst, 17, s, 6);
}

export function icmpEcho(src: string, dst: string, request: boolean, id: number, seq: number, payload = new Uint8Array(8)): Uint8Array {
  const v6 = isV6(src);
  const s = new Uint8Array(8 + payload.length);
  s[0] = v6 ? (request ? 128 : 129) : (request ? 8 : 0);
  const dv = new DataView(s.buffer);
  dv.setUint16(4, id); dv.setUint16(6, seq);
  s.set(payload, 8);
  return withL4Csum(src, dst, v6 ? 58 : 1, s, 2);
}

/** Any ICMPv6 message (RFC 4443 §2.1: type, code, checksum, then `body`), checksum over the pseudo-header. */
export function icmp6(src: string, dst: string, type: number, code: number, body: Uint8Array): Uint8Array {
  const s = new Uint8Array(4 + body.length);
  s[0] = type; s[1] = code;
  s.set(body, 4);
  return withL4Csum(src, dst, 58, s, 2);
}

export function ipv4(src: string, dst: string, proto: number, l4: Uint8Array, ttl = 64): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x45; dv.setUint16(2, 20 + l4.length); dv.setUint16(4, 0x1234); dv.setUint16(6, 0x4000);
  h[8] = ttl; h[9] = proto;
  h.set(parseIpv4(src), 12); h.set(parseIpv4(dst), 16);
  dv.setUint16(10, csum(h));
  return cat(h, l4);
}

export function ipv6(src: string, dst: string, next: number, payload: Uint8Array, hop = 64): Uint8Array {
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, 0x60000000); dv.setUint16(4, payload.length); h[6] = next; h[7] = hop;
  h.set(ip16(src), 8); h.set(ip16(dst), 24);
  return cat(h, payload);
}

/** A whole guest frame: Ethernet + IP + the given L4 segment. */
export function ipFrame(dstMac: string, srcMac: string, src: string, dst: string, proto: number, l4: Uint8Array, ttl = 64): Uint8Array {
  return isV6(src)
    ? eth(dstMac, srcMac, 0x86dd, ipv6(src, dst, proto, l4, ttl))
    : eth(dstMac, srcMac, 0x0800, ipv4(src, dst, proto, l4, ttl));
}

export interface GeneveOpts {
  vni: number;
  /** Oxide options (class 0x0129), in this order: External (no body), MSS (u32 body), Multicast (replication mode 0-3). */
  external?: boolean;
  mss?: number;
  multicast?: number;
  sport?: number;
}

/** The Oxide Geneve options `o` asks for, as bytes. */
export function oxideOptions(o: GeneveOpts): Uint8Array {
  const parts: Uint8Array[] = [];
  if (o.external) parts.push(Uint8Array.from([0x01, 0x29, 0x00, 0x00]));
  if (o.mss !== undefined) {
    const m = Uint8Array.from([0x01, 0x29, 0x02, 0x01, 0, 0, 0, 0]);
    new DataView(m.buffer).setUint32(4, o.mss);
    parts.push(m);
  }
  if (o.multicast !== undefined) parts.push(Uint8Array.from([0x01, 0x29, 0x01, 0x01, (o.multicast & 3) << 6, 0, 0, 0]));
  return cat(...parts);
}

/** Outer Ethernet/IPv6/UDP(6081)/Geneve around an inner Ethernet frame. Zero outer UDP checksum. */
export function geneve(dstMac: string, srcMac: string, src6: string, dst6: string, o: GeneveOpts, inner: Uint8Array): Uint8Array {
  const opt = oxideOptions(o);
  const g = new Uint8Array(8);
  g[0] = opt.length >> 2;
  g[2] = 0x65; g[3] = 0x58;
  new DataView(g.buffer).setUint32(4, o.vni << 8);
  const body = cat(g, opt, inner);
  const u = new Uint8Array(8);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, o.sport ?? 0xc000); dv.setUint16(2, 6081); dv.setUint16(4, 8 + body.length);
  return eth(dstMac, srcMac, 0x86dd, ipv6(src6, dst6, 17, cat(u, body), 255));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export const TCP_FLAGS = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
